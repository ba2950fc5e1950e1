package ws

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/sinks/live"
)

// Once gorilla has written a close frame (its echo of the client's close,
// or 1009), the writer's next cycle cannot put a data frame after it: the
// check and the write are under the connection's lock.
func TestNoDataFrameAfterCloseFrame(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	lc := live.NewConn(server, time.Second)
	fc := frameConn{lc}
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(client); got <- b }()

	echo := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	closeFrame := append([]byte{0x88, byte(len(echo))}, echo...)
	if _, err := fc.Write(closeFrame); err != nil { // what gorilla's reader does
		t.Fatal(err)
	}
	if err := lc.Send(appendText(nil, []byte(`{"type":"event"}`))); !errors.Is(err, live.ErrSealed) {
		t.Fatalf("data frame after the close frame: Send = %v, want ErrSealed", err)
	}
	if _, err := fc.Write([]byte{0x89, 0}); !errors.Is(err, live.ErrSealed) { // a ping
		t.Fatalf("ping after the close frame: %v, want ErrSealed", err)
	}
	server.Close()
	if b := <-got; !bytes.Equal(b, closeFrame) {
		t.Fatalf("the client read %q, want only the close frame %q", b, closeFrame)
	}
}

// A message far over max_message_bytes (10 MB against 64 KiB) gets the
// documented close 1009, not a reset connection (1006): the server reads
// away what the client is still sending before it closes the socket.
func TestHugeMessageCloses1009(t *testing.T) {
	_, srv, _ := newSink(t, config.Broadcast{})
	c := dial(t, srv, "")
	big := `{"type":"subscribe","id":"` + strings.Repeat("x", 10<<20) + `"}`
	_ = c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.c.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatalf("write 10 MB: %v", err)
	}
	if code, _, _ := c.closeCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}
