// Package sse reads and writes Server-Sent Events as the WHATWG HTML
// standard defines them, the framing OpenAI, Anthropic and Gemini stream in.
//
// https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// MaxEventSize bounds one event's data so a hostile upstream cannot make the
// reader grow without limit. A single line may be longer by the length of
// "data: ", so that one data line can carry MaxEventSize bytes.
const MaxEventSize = 8 << 20

// maxLine bounds any one line, comments and unknown fields included.
const maxLine = len("data: ") + MaxEventSize

// ErrTooLarge is returned when an event or a line exceeds MaxEventSize.
var ErrTooLarge = errors.New("sse: event too large")

// bom is the UTF-8 byte order mark; one is skipped at the start of a stream.
const bom = "\ufeff"

// Event is one dispatched event.
type Event struct {
	Type string // the "event:" field; "" means "message"
	ID   string // the last "id:" field seen, kept across events
	Data []byte // data lines joined by "\n"; valid until the next call to Next
}

// Reader parses an event stream.
type Reader struct {
	r       *bufio.Reader
	err     error // sticky: once Next fails it keeps failing
	started bool  // the BOM check has been done
	cr      bool  // the last line ended in '\r': skip a following '\n'
	noLF    int   // the first noLF buffered bytes are known to hold no '\n'

	line []byte // a line longer than what was buffered
	data []byte
	typ  []byte
	id   []byte

	// The strings of the last event, reused while unchanged so a stream of
	// events of one type costs no allocation for it.
	typStr string
	idStr  string
}

// NewReader returns a Reader over r. Its buffer is small: a gateway holds
// one per open stream, and longer lines are gathered across reads anyway.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 4<<10)}
}

// Ready reports whether a whole further event with data is already
// buffered, so that Next would not wait on the network. A writer passing
// events on uses it to flush once per batch of events that arrived
// together, not per event. Blocks without data (an OpenRouter keep-alive
// comment) do not count: Next skips them and waits for what follows.
func (r *Reader) Ready() bool {
	n := r.r.Buffered()
	if n == 0 {
		return false
	}
	buf, _ := r.r.Peek(n)
	return hasEvent(buf)
}

// hasEvent reports whether buf holds a "data" line and, after it, a blank
// line: a complete event Next would dispatch. It jumps from '\n' to '\n'
// with the SIMD byte search and stops at the first such event: on LF and
// CRLF streams, asking after every event reads the next event, not
// everything buffered behind it. A stream with CR-only line ends is
// reported as not ready (a flush per event), the safe side of the
// question.
func hasEvent(buf []byte) bool {
	data := false
	for start := 0; ; {
		i := bytes.IndexByte(buf[start:], '\n')
		if i < 0 {
			return false
		}
		line := buf[start : start+i]
		if j := bytes.IndexByte(line, '\r'); j >= 0 {
			if j != len(line)-1 {
				return false // a CR line end before the LF: CR-only framing
			}
			line = line[:j]
		}
		switch {
		case len(line) == 0:
			if data {
				return true
			}
		case bytes.HasPrefix(line, dataField) && (len(line) == len(dataField) || line[len(dataField)] == ':'):
			data = true
		}
		start += i + 1
	}
}

var dataField = []byte("data")

// Next returns the next event with data. Comments, events without data and
// unknown fields are skipped. At the end of input it returns io.EOF; an
// event cut off before its blank line is not dispatched, as the standard
// says. After an error, including ErrTooLarge, every later call returns the
// same error: the reader does not resume in the middle of an event.
func (r *Reader) Next() (Event, error) {
	if r.err != nil {
		return Event{}, r.err
	}
	ev, err := r.next()
	if err != nil {
		r.err = err
	}
	return ev, err
}

func (r *Reader) next() (Event, error) {
	if !r.started {
		r.started = true
		p, err := r.r.Peek(len(bom))
		if string(p) == bom {
			r.discard(len(bom))
		} else if err != nil {
			// Fewer than three bytes hold no event.
			return Event{}, err
		}
	}
	r.data = r.data[:0]
	r.typ = r.typ[:0]
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 {
			if hasData {
				if string(r.typ) != r.typStr {
					r.typStr = string(r.typ)
				}
				if string(r.id) != r.idStr {
					r.idStr = string(r.id)
				}
				return Event{Type: r.typStr, ID: r.idStr, Data: r.data}, nil
			}
			r.typ = r.typ[:0]
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			n := len(value)
			if hasData {
				n += len(r.data) + 1
			}
			if n > MaxEventSize {
				return Event{}, ErrTooLarge
			}
			if hasData {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			r.typ = append(r.typ[:0], value...)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				r.id = append(r.id[:0], value...)
			}
		}
	}
}

// readLine returns one line without its terminator (LF, CRLF or CR). The
// line is valid until the next read. A line that the end of input cuts off
// is dropped, and the read error returned instead.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		if r.r.Buffered() == 0 {
			if _, err := r.r.Peek(1); err != nil {
				return nil, err
			}
		}
		buf, _ := r.r.Peek(r.r.Buffered())
		if r.cr {
			r.cr = false
			if buf[0] == '\n' {
				r.discard(1)
				continue
			}
		}
		// LF ends most lines, so find it first and then look for a CR only
		// before it. noLF keeps streams of CR-only lines from rescanning
		// the buffer for an LF on every line.
		lf := len(buf)
		from := min(r.noLF, len(buf))
		if i := bytes.IndexByte(buf[from:], '\n'); i >= 0 {
			lf = from + i
		}
		eol := lf
		if i := bytes.IndexByte(buf[:lf], '\r'); i >= 0 {
			eol = i
		}
		if len(r.line)+eol > maxLine {
			return nil, ErrTooLarge
		}
		if eol == len(buf) {
			r.line = append(r.line, buf...)
			r.discard(len(buf))
			continue
		}
		line := buf[:eol]
		if len(r.line) > 0 {
			r.line = append(r.line, line...)
			line = r.line
		}
		r.cr = buf[eol] == '\r'
		r.noLF = lf
		r.discard(eol + 1)
		return line, nil
	}
}

// discard drops n buffered bytes.
func (r *Reader) discard(n int) {
	_, _ = r.r.Discard(n) // never fails: n bytes are buffered
	r.noLF = max(r.noLF-n, 0)
}

// AppendData appends data as one SSE event (one "data:" line per line of
// data) to dst. Line breaks inside data (LF, CRLF or CR) split it into lines,
// so framing cannot be broken; a reader gets data back with each of them as
// LF. An event name cannot hold a line break: it is cut at the first one.
func AppendData(dst []byte, event string, data []byte) []byte {
	if i := strings.IndexAny(event, "\r\n"); i >= 0 {
		event = event[:i]
	}
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	lf := -1 // index of the next LF in data; < 0 once passed
	for {
		if lf < 0 {
			if lf = bytes.IndexByte(data, '\n'); lf < 0 {
				lf = len(data)
			}
		}
		eol := lf
		if i := bytes.IndexByte(data[:lf], '\r'); i >= 0 {
			eol = i
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:eol]...)
		if eol == len(data) {
			break
		}
		dst = append(dst, '\n')
		n := eol + 1
		if data[eol] == '\r' && n < len(data) && data[n] == '\n' {
			n++
		}
		data = data[n:]
		lf -= n
	}
	return append(dst, '\n', '\n')
}
