package store

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// The operations of concurrent callers share pipelines: a caller's
// operations wait for the pipeline under way to end and then go, with
// those of every caller that came meanwhile, in the next one (package
// internal/batching). Under load, a request's store operations cost a
// share of one round trip, and Redis reads many commands a call; alone, a
// caller's operations go at once, as before. Each operation is still
// atomic on its own and read from its own reply, so callers only share
// the round trip: an error of one command is that command's alone. Behind
// Sentinel the shared pipeline is confirmed as one (ROLE, and WAIT 1 when
// any of it wrote): a write counts only once a replica holds it.
//
// A Cluster's operations are not shared: with replicas each write goes
// alone to the master of its key's slot to be confirmed there, and a
// pipeline there would only be split by node again.

// sharedOps is one caller's operations in a shared pipeline: copies of
// them, run and answered there, so that a caller that gave up before the
// pipeline ran never has its operations written after it left.
type sharedOps struct {
	ops []Op
}

// shares reports whether the store shares pipelines among callers.
func (r *redisStore) shares() bool {
	_, cluster := r.c.(*redis.ClusterClient)
	return !cluster
}

// share runs ops, each ready, in the pipeline that has not begun. It
// returns once that pipeline has run, or once ctx ends while it waits
// for a pipeline another caller runs: then each op fails with ctx's
// error, and may or may not have run (as when a connection breaks after
// a command was sent); a token taken so is spent and not handed out. The
// caller that runs a pipeline waits for it, on the client's time bounds.
func (r *redisStore) share(ctx context.Context, ops []*Op) {
	mine := &sharedOps{ops: make([]Op, len(ops))}
	for i, op := range ops {
		mine.ops[i] = *op
	}
	// The pipeline holds other callers' operations: it runs on the
	// client's own time bounds, not on the cancellation of the caller
	// that runs it.
	runCtx := context.WithoutCancel(ctx)
	err := r.pipelines.Do(ctx, mine, func(waiting []*sharedOps) {
		n := 0
		for _, w := range waiting {
			n += len(w.ops)
		}
		all := make([]*Op, 0, n)
		for _, w := range waiting {
			for i := range w.ops {
				all = append(all, &w.ops[i])
			}
		}
		r.send(runCtx, all)
	})
	for i, op := range ops {
		if err != nil {
			op.Err = redisErr(commandName[op.kind], op.key, err)
			continue
		}
		op.Value, op.Err = mine.ops[i].Value, mine.ops[i].Err
	}
}
