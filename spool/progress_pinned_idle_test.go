package spool_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lyumen/lyumen/spool"
)

// TestSpool_PinnedSwept_WhenIdle: segments kept for open progress are
// swept only from the shipper's loop, when records wake it. Once the
// exchanges end within a second of the last sweep, nothing wakes it again:
// the kept segments stay, and count, for good. Near the cap that leaves the
// spool Full with nothing pending and nothing open, and a Full spool takes
// no request (httpapi refuses, /readyz fails), so no record ever comes to
// wake the shipper: the gateway refuses everything until restarted.
func TestSpool_PinnedSwept_WhenIdle(t *testing.T) {
	dir := t.TempDir()
	o := spool.Options{MaxBytes: 32 << 10, SegmentBytes: 8 << 10, Linger: -1}
	s := mustOpen(t, dir, newStore(), o)
	big := `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 11<<10) + `"}]}`
	a, b := full(id(1000)), full(id(1001))
	a.Request, b.Request = []byte(big), []byte(big)
	progress(t, s, sofar(a, "Hel")) // each most of its own segment: kept while open
	progress(t, s, sofar(b, "Hel"))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	time.Sleep(100 * time.Millisecond) // both segments shipped past and kept; one sweep ran, both open
	if err := s.Record(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(t.Context(), b); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(3 * time.Second)
	for s.Full() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := s.Pending(); s.Full() {
		t.Errorf("Full() still true %v after both exchanges ended, with %d records pending and %d bytes on disk: "+
			"the segments kept for their progress are never swept while nothing wakes the shipper", 3*time.Second, n, s.Bytes())
	}
}
