package hub

import (
	"errors"
	"fmt"
)

// ErrClosed reports that the hub is closed: the stream ended (graceful
// shutdown) or was aborted.
var ErrClosed = errors.New("broadcast stream closed")

// OverflowError reports a client that fell too far behind: more than its
// client buffer, or past the oldest event of the replay buffer. The sink
// disconnects the client; the client may resume from its last id.
type OverflowError struct {
	Behind  uint64 // events published and not yet read
	Limit   uint64 // the allowance that was exceeded (0 when Evicted)
	Evicted bool   // the next event the client needed left the replay buffer
}

// Error returns a reason short enough for a WebSocket close frame.
func (e *OverflowError) Error() string {
	if e.Evicted {
		return "client too slow: fell out of the replay buffer; resume from your last event id"
	}
	return fmt.Sprintf("client buffer overflow: %d events behind (limit %d); resume from your last event id", e.Behind, e.Limit)
}
