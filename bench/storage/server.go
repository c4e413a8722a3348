package storage

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is what a database server has done so far, as far as it can be
// seen from here.
type Server struct {
	// CPU is the user and system time of the server processes serving
	// the store's connections, read from /proc: zero when the server is
	// on another machine. Background processes (WAL writer, checkpointer)
	// are not counted.
	CPU time.Duration
	// WAL is the write-ahead log written by the whole server, in bytes.
	WAL int64
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every Linux platform Go supports.
const clockTick = 10 * time.Millisecond

// pgServer returns a function that reports the server's work for the
// connections whose application_name is app.
func pgServer(dsn, app string) func(ctx context.Context) (Server, error) {
	return func(ctx context.Context) (Server, error) {
		var s Server
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return s, err
		}
		defer conn.Close(ctx)
		var pids []int32
		err = conn.QueryRow(ctx, `SELECT array_agg(pid) FILTER (WHERE application_name = $1),
			pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint FROM pg_stat_activity`, app).Scan(&pids, &s.WAL)
		if err != nil {
			return s, fmt.Errorf("server activity: %w", err)
		}
		for _, pid := range pids {
			s.CPU += procCPU(int(pid))
		}
		return s, nil
	}
}

// procCPU returns the user and system time of process pid, or 0 when
// /proc cannot tell.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // from field 3, state
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(utime+stime) * clockTick
}
