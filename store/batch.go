package store

import (
	"context"
	"time"
)

// An Op is one operation of a Batch: a Get, Put, PutNew, Take or Delete of
// one key, made by GetOp, PutOp, PutNewOp, TakeOp or DeleteOp. Once the
// batch has run, Value and Err hold what the method of its kind would have
// returned.
type Op struct {
	kind  opKind
	key   string
	value []byte
	ttl   time.Duration

	// Value is the value a Get or Take found.
	Value []byte
	// Err is the operation's error, as its method returns it:
	// ErrNotFound, ErrExists, ErrInvalidKey, a failure of the backend.
	Err error
}

type opKind uint8

const (
	opGet opKind = iota
	opPut
	opPutNew
	opTake
	opDelete
)

// GetOp is Get(key) in a batch.
func GetOp(key string) *Op { return &Op{kind: opGet, key: key} }

// PutOp is Put(key, value, ttl) in a batch.
func PutOp(key string, value []byte, ttl time.Duration) *Op {
	return &Op{kind: opPut, key: key, value: value, ttl: ttl}
}

// PutNewOp is PutNew(key, value, ttl) in a batch.
func PutNewOp(key string, value []byte, ttl time.Duration) *Op {
	return &Op{kind: opPutNew, key: key, value: value, ttl: ttl}
}

// TakeOp is Take(key) in a batch.
func TakeOp(key string) *Op { return &Op{kind: opTake, key: key} }

// DeleteOp is Delete(key) in a batch.
func DeleteOp(key string) *Op { return &Op{kind: opDelete, key: key} }

// writes reports whether op changes the store (every kind but Get).
func (op *Op) writes() bool { return op.kind != opGet }

// runEach runs each op, in order, by s's method of its kind: a Batch that
// sends nothing at once.
func runEach(ctx context.Context, s Store, ops []*Op) {
	for _, op := range ops {
		switch op.kind {
		case opGet:
			op.Value, op.Err = s.Get(ctx, op.key)
		case opPut:
			op.Err = s.Put(ctx, op.key, op.value, op.ttl)
		case opPutNew:
			op.Err = s.PutNew(ctx, op.key, op.value, op.ttl)
		case opTake:
			op.Value, op.Err = s.Take(ctx, op.key)
		case opDelete:
			op.Err = s.Delete(ctx, op.key)
		}
	}
}
