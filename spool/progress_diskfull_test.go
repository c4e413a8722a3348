package spool_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lyumen/lyumen"
	"github.com/lyumen/lyumen/spool"
)

// TestSpool_OpenOnAFullDisk: Open needs no room on disk; Run ships and
// frees room, and records the interrupted exchange once there is. Open
// that appended the interrupted exchanges' records itself failed on a full
// disk (a store or logs on the same disk): a gateway that crashed with a
// stream open did not start, so never shipped, and never freed the room it
// needed to start. (Root only: it mounts a small tmpfs to have a disk that
// fills.)
func TestSpool_OpenOnAFullDisk(t *testing.T) {
	mnt := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt).Run(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	dir := filepath.Join(mnt, "spool")
	o := spool.Options{SegmentBytes: 8 << 10}
	s := mustOpen(t, dir, newStore(), o)
	progress(t, s, sofar(full(id(1000)), "Hel"))
	recordN(t, s, 0, 20)
	mustClose(t, s) // the process dies with the stream open

	filler, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	filler.Close()

	st := newStore()
	s, err = spool.Open(dir, st, o)
	if err != nil {
		t.Fatalf("Open on a full disk: %v; want it open, to ship and free room", err)
	}
	drain(t, s)
	mustClose(t, s)
	if got := st.byID[id(1000)]; got == nil || got.Completeness != lyumen.Interrupted {
		t.Errorf("the interrupted exchange's record: %+v; want it recorded once shipping freed room", got)
	}
}
