package store

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// Each operation of the Redis store is one Op: its command (queue), and
// its result read from the command's reply (finish), written once for the
// methods, which send one command, and for Batch, which sends several.

// ready checks op's key and ttl, and records the refusal in op.
func (r *redisStore) ready(op *Op) bool {
	op.Err = r.check(op.key)
	if op.Err == nil && (op.kind == opPut || op.kind == opPutNew) {
		op.Err = checkTTL(op.ttl)
	}
	return op.Err == nil
}

// queue adds op's command to c.
func (r *redisStore) queue(ctx context.Context, c redis.Cmdable, op *Op) redis.Cmder {
	key := r.key(op.key)
	switch op.kind {
	case opPut:
		return c.Set(ctx, key, op.value, redisTTL(op.ttl))
	case opPutNew:
		return c.SetNX(ctx, key, op.value, redisTTL(op.ttl))
	case opTake:
		return c.GetDel(ctx, key)
	case opDelete:
		return c.Del(ctx, key)
	default:
		return c.Get(ctx, key)
	}
}

// commandName names op's command in errors.
var commandName = map[opKind]string{opGet: "GET", opPut: "SET", opPutNew: "SET NX", opTake: "GETDEL", opDelete: "DEL"}

// finish records op's result: cmd's reply, or err when the command failed
// or its write was not confirmed (see write). cmd is nil when it was never
// sent.
func (r *redisStore) finish(op *Op, cmd redis.Cmder, err error) {
	if err == nil && cmd != nil {
		err = cmd.Err()
	}
	switch {
	case errors.Is(err, redis.Nil) && (op.kind == opGet || op.kind == opTake):
		op.Err = ErrNotFound
	case err != nil:
		op.Err = redisErr(commandName[op.kind], op.key, err)
	case op.kind == opGet || op.kind == opTake:
		op.Value, op.Err = cmd.(*redis.StringCmd).Bytes()
	case op.kind == opPutNew && !cmd.(*redis.BoolCmd).Val():
		op.Err = ErrExists
	}
}

// alone runs op by itself: a write by write (confirmed by a replica where
// one must), a read on the client.
func (r *redisStore) alone(ctx context.Context, op *Op) {
	var cmd redis.Cmder
	var err error
	if op.writes() {
		err = r.write(ctx, op.key, func(c redis.Cmdable) redis.Cmder {
			cmd = r.queue(ctx, c, op)
			return cmd
		})
	} else {
		cmd = r.queue(ctx, r.c, op)
	}
	r.finish(op, cmd, err)
}

// Batch implements Store: one pipeline, shared with the operations of
// other callers where the store shares them (see share). Behind Sentinel
// it runs on one connection to the master with ROLE, and when any op
// wrote, WAIT 1 follows, as for a single write: an op whose write no
// replica confirmed fails with ErrUnconfirmed. On a Cluster with replicas
// each op runs alone, confirmed on the master of its own key's slot.
func (r *redisStore) Batch(ctx context.Context, ops ...*Op) {
	ready := make([]*Op, 0, len(ops))
	for _, op := range ops {
		if r.ready(op) {
			ready = append(ready, op)
		}
	}
	switch {
	case len(ready) == 0:
	case r.shares():
		r.share(ctx, ready)
	default:
		r.send(ctx, ready)
	}
}

// send runs ops, each ready, in one pipeline of their own (see Batch).
func (r *redisStore) send(ctx context.Context, send []*Op) {
	var firstWrite *Op
	for _, op := range send {
		if op.writes() {
			firstWrite = op
			break
		}
	}
	var node *redis.Client
	if firstWrite != nil {
		var err error
		if node, err = r.confirmingNode(ctx, firstWrite.key); err != nil {
			for _, op := range send {
				r.finish(op, nil, err)
			}
			return
		}
	}
	if _, cluster := r.c.(*redis.ClusterClient); cluster && node != nil {
		for _, op := range send {
			r.alone(ctx, op)
		}
		return
	}
	cmds := make([]redis.Cmder, len(send))
	queue := func(p redis.Pipeliner) {
		for i, op := range send {
			cmds[i] = r.queue(ctx, p, op)
		}
	}
	var unconfirmed error
	if node == nil {
		pipelined(ctx, r.c, queue)
	} else {
		unconfirmed = confirmed(ctx, node, queue, func() bool {
			for i, op := range send {
				if op.writes() && cmds[i].Err() == nil {
					return true
				}
			}
			return false
		})
	}
	for i, op := range send {
		err := cmds[i].Err()
		if err == nil && op.writes() {
			err = unconfirmed
		}
		r.finish(op, cmds[i], err)
	}
}
