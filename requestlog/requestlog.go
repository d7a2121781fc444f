// Package requestlog names, in each log entry written while serving a
// request, the request it was written for: the field request_id, whose
// value the server gives (in Caddy, {http.request.uuid}, which an access
// log can carry too), never anything the client sent. The guard and both
// relay modes log through it, so their entries of one request can be told
// apart from another's and matched with each other.
package requestlog

import (
	"net/http"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Key is the name of the field.
const Key = "request_id"

// Source tells the id the server gave a request, or "" when it gave none.
// It must not read what the client sent (an X-Request-Id header).
type Source func(*http.Request) string

// Field is r's request_id field, or a field that writes nothing when s or
// r is nil or r has no id. It asks s at once: where the entry may be dropped,
// prefer Logger, which asks only for an entry that is written.
func (s Source) Field(r *http.Request) zap.Field {
	if s == nil || r == nil {
		return zap.Skip()
	}
	if id := s(r); id != "" {
		return zap.String(Key, id)
	}
	return zap.Skip()
}

// Logger writes entries for the request being served, each with its
// request_id. The id is asked for only when an entry's level is on, so
// an entry that is dropped costs no more than zap's own Check.
type Logger struct {
	// Log is where entries go; nil writes nothing.
	Log *zap.Logger
	// ID names the request; nil names none.
	ID Source
}

// New is a Logger on l (nil: none) naming requests by id.
func New(l *zap.Logger, id Source) Logger {
	if l == nil {
		l = zap.NewNop()
	}
	return Logger{Log: l, ID: id}
}

// Write writes an entry at lvl for r, with r's request_id after fields.
func (l Logger) Write(r *http.Request, lvl zapcore.Level, msg string, fields ...zap.Field) {
	if l.Log == nil {
		return
	}
	if ce := l.Log.Check(lvl, msg); ce != nil {
		ce.Write(append(fields, l.ID.Field(r))...)
	}
}

// Debug writes a debug entry for r.
func (l Logger) Debug(r *http.Request, msg string, fields ...zap.Field) {
	l.Write(r, zapcore.DebugLevel, msg, fields...)
}

// Info writes an info entry for r.
func (l Logger) Info(r *http.Request, msg string, fields ...zap.Field) {
	l.Write(r, zapcore.InfoLevel, msg, fields...)
}

// Warn writes a warning for r.
func (l Logger) Warn(r *http.Request, msg string, fields ...zap.Field) {
	l.Write(r, zapcore.WarnLevel, msg, fields...)
}

// Error writes an error entry for r.
func (l Logger) Error(r *http.Request, msg string, fields ...zap.Field) {
	l.Write(r, zapcore.ErrorLevel, msg, fields...)
}
