package lyumen

import (
	"context"
	"errors"
	"time"
)

// ErrRejected is wrapped by a store's error when it refused a batch for
// what one of its records holds, not for an outage: writing the same
// records again fails again. A writer of batches should find the record
// and set it aside rather than retry it forever.
var ErrRejected = errors.New("record rejected by the store")

// Completeness says how far an exchange got.
type Completeness string

// Completeness values stored with every record.
const (
	Complete           Completeness = "complete"
	ClientDisconnected Completeness = "client_disconnected"
	UpstreamFailed     Completeness = "upstream_failed"  // failed after the first byte
	UpstreamRefused    Completeness = "upstream_refused" // failed before the first byte
	// Interrupted: the gateway itself stopped (a crash, a kill, power
	// lost) while a stream was being sent; the record holds what the
	// client had been sent by its last progress (see ProgressRecorder).
	Interrupted Completeness = "interrupted"
)

// Completenesses returns every Completeness value.
func Completenesses() []Completeness {
	return []Completeness{Complete, ClientDisconnected, UpstreamFailed, UpstreamRefused, Interrupted}
}

// Record is one logged exchange. It holds exactly what the privacy page
// lists and nothing else from the request: no address, no headers but the
// user agent, no credentials.
type Record struct {
	ID          string // UUIDv7, so ids sort by time
	ReceivedAt  time.Time
	Duration    time.Duration
	TTFT        time.Duration // time to first token; zero when none came
	Surface     Surface
	Model       string // as the client asked
	ServedModel string // as the upstream reported
	Provider    string
	Stream      bool
	Status      int // HTTP status sent to the client
	Error       string
	Request     []byte // the request body as received
	// Conversation is the request in canonical form, the same for every
	// surface, so datasets need no per-API code.
	Conversation *Conversation
	Response     *Response // the completion; for streams, assembled from the deltas
	Usage        Usage
	UserAgent    string
	Country      string // ISO 3166-1 alpha-2, "T1" for Tor, "" when unknown
	Completeness Completeness
	Attempts     []Attempt // every upstream try, in order
}

// Conversation is what a request asked, in canonical form.
type Conversation struct {
	Messages    []Message   `json:"messages"`
	Tools       []Tool      `json:"tools,omitempty"`
	ToolChoice  *ToolChoice `json:"tool_choice,omitempty"`
	MaxTokens   int         `json:"max_tokens,omitempty"`
	Temperature *float64    `json:"temperature,omitempty"`
	TopP        *float64    `json:"top_p,omitempty"`
	// FrequencyPenalty and PresencePenalty are as the client set them,
	// whether or not the upstream took them.
	FrequencyPenalty *float64 `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64 `json:"presence_penalty,omitempty"`
	Stop             []string `json:"stop,omitempty"`
}

// Conversation returns the request's canonical content.
func (r *Request) Conversation() *Conversation {
	return &Conversation{Messages: r.Messages, Tools: r.Tools, ToolChoice: r.ToolChoice, MaxTokens: r.MaxTokens,
		Temperature: r.Temperature, TopP: r.TopP, FrequencyPenalty: r.FrequencyPenalty, PresencePenalty: r.PresencePenalty, Stop: r.Stop}
}

// Recorder takes records off the request path.
type Recorder interface {
	// Record returns once the record is safely queued (or durable, for a
	// durable recorder). An error means it was not taken.
	Record(ctx context.Context, rec *Record) error
}

// ProgressRecorder is a Recorder that also keeps the record of an
// exchange still being served (a stream), so that the gateway's own crash
// does not lose what a client was already sent.
type ProgressRecorder interface {
	Recorder
	// Progress keeps rec as it is so far and returns once it is safely
	// kept, like Record. A later Progress or Record of the same ID replaces
	// it; if the process dies before the Record, rec is recorded with
	// Completeness Interrupted when the recorder next starts.
	Progress(ctx context.Context, rec *Record) error
}
