package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// A value in the storage implementation is kept in an envelope, because a
// certmagic.Storage has no expiry of its own:
//
//	magic   4 bytes  "OSE1" (format and version)
//	expires 8 bytes  big-endian Unix time in nanoseconds; 0 = never
//	length  4 bytes  big-endian length of the value
//	value   length bytes
//
// The length lets a reader tell a whole envelope from a cut one (a
// half-written file seen through an odd storage, or a stranger's file).
const (
	envelopeMagic  = "OSE1"
	envelopeHeader = len(envelopeMagic) + 8 + 4
)

var errBadEnvelope = errors.New("store: stored entry is not a valid envelope")

type envelope struct {
	expires time.Time // zero: never
	value   []byte
}

func (e envelope) expired(now time.Time) bool {
	return !e.expires.IsZero() && !now.Before(e.expires)
}

func encodeEnvelope(value []byte, expires time.Time) []byte {
	b := make([]byte, envelopeHeader, envelopeHeader+len(value))
	copy(b, envelopeMagic)
	var ns int64
	if !expires.IsZero() {
		ns = expires.UnixNano()
	}
	binary.BigEndian.PutUint64(b[4:12], uint64(ns))
	binary.BigEndian.PutUint32(b[12:16], uint32(len(value)))
	return append(b, value...)
}

func decodeEnvelope(b []byte) (envelope, error) {
	if len(b) < envelopeHeader || string(b[:4]) != envelopeMagic {
		return envelope{}, errBadEnvelope
	}
	ns := int64(binary.BigEndian.Uint64(b[4:12]))
	n := binary.BigEndian.Uint32(b[12:16])
	if uint64(len(b)-envelopeHeader) != uint64(n) {
		return envelope{}, errBadEnvelope
	}
	var e envelope
	if ns != 0 {
		e.expires = time.Unix(0, ns)
	}
	// A fresh slice so the caller may keep or change it freely.
	e.value = append([]byte{}, b[envelopeHeader:]...)
	return e, nil
}
