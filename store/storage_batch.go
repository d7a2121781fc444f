package store

import "context"

// Batch implements Store: a storage has no way to send several operations
// at once, so each runs by its method, in order.
func (st *storageStore) Batch(ctx context.Context, ops ...*Op) { runEach(ctx, st, ops) }
