package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/storetest"
)

// TestRun runs the suite against the simplest store that meets the
// contract, so a failure in a real store is the store's, not the suite's.
func TestRun(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return &memStore{recs: map[string]*lyumen.Record{}} })
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// memStore keeps records in a map, applying the same normalisation a
// database does: UTC microseconds, no Response.Raw.
type memStore struct {
	mu   sync.Mutex
	recs map[string]*lyumen.Record
}

func (m *memStore) WriteRecords(ctx context.Context, recs []*lyumen.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, r := range recs { // check first: a batch is all or nothing
		if r == nil {
			return fmt.Errorf("record %d is nil", i)
		}
		if !uuidRE.MatchString(r.ID) {
			return fmt.Errorf("record %d: id %q is not a UUID", i, r.ID)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		if _, ok := m.recs[r.ID]; ok {
			continue
		}
		c := *r
		c.ReceivedAt = r.ReceivedAt.UTC().Truncate(time.Microsecond)
		c.Duration = r.Duration.Truncate(time.Microsecond)
		c.TTFT = r.TTFT.Truncate(time.Microsecond)
		if r.Response != nil {
			resp := *r.Response
			resp.Raw = nil
			c.Response = &resp
		}
		m.recs[r.ID] = &c
	}
	return nil
}

func (m *memStore) Record(_ context.Context, id string) (*lyumen.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return nil, &lyumen.Error{Kind: lyumen.KindNotFound, Message: "record not found", Err: errors.New(id)}
	}
	c := *r
	return &c, nil
}

func (m *memStore) Count(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.recs)), nil
}
