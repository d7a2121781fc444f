package testredis

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// RoundTrips records the round trips of the clients it is added to (as a
// go-redis hook: c.AddHook): a command sent alone is one, a pipeline is
// one. Each is written as its commands, "GET key | SET key", each with
// its first argument only, and with the connection's own set-up (HELLO,
// CLIENT SETINFO) left out.
type RoundTrips struct {
	mu    sync.Mutex
	trips []string
}

// DialHook implements redis.Hook.
func (c *RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (c *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (c *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.add(cmds...)
		return next(ctx, cmds)
	}
}

func (c *RoundTrips) add(cmds ...redis.Cmder) {
	var parts []string
	for _, cmd := range cmds {
		args := cmd.Args()
		name := strings.ToUpper(fmt.Sprint(args[0]))
		if name == "HELLO" || name == "CLIENT" {
			continue
		}
		if len(args) > 1 {
			name += " " + fmt.Sprint(args[1])
		}
		parts = append(parts, name)
	}
	if len(parts) == 0 {
		return
	}
	c.mu.Lock()
	c.trips = append(c.trips, strings.Join(parts, " | "))
	c.mu.Unlock()
}

// Take returns the round trips recorded since the last Take.
func (c *RoundTrips) Take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.trips
	c.trips = nil
	return t
}
