package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// AuthMessageTimeout is how long a WebSocket connection that brought no
// credential in its handshake has to send its auth message before the
// server closes it.
const AuthMessageTimeout = 5 * time.Second

// MaxAuthMessageBytes bounds an auth message.
const MaxAuthMessageBytes = MaxTokenBytes + 256

// ErrNotAuthMessage is wrapped by the error of ParseAuthMessage when the
// message is well-formed JSON of another type (a subscribe sent before
// authenticating): the transport answers that authentication comes first.
var ErrNotAuthMessage = errors.New("not an auth message")

// ParseAuthMessage parses a WebSocket client's first message,
// {"type":"auth","token":"..."}, strictly: one JSON object with exactly
// the string members type (which must be "auth") and token (a bearer
// token, as FromRequest accepts), no other member, no member twice,
// nothing after it. Its errors are *Error with ReasonMalformed, or
// ReasonMissing wrapping ErrNotAuthMessage for a well-formed message of
// another type (whatever its other members), and never quote the message.
func ParseAuthMessage(msg []byte) (Credential, error) {
	if len(msg) > MaxAuthMessageBytes {
		return Credential{}, newError(ReasonMalformed, fmt.Sprintf("auth message longer than %d bytes", MaxAuthMessageBytes))
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	bad := func(what string) (Credential, error) {
		return Credential{}, newError(ReasonMalformed, `malformed auth message: `+what+`: want {"type":"auth","token":"<token>"}`)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return bad("not a JSON object")
	}
	var typ, tok *string
	unknown := false
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return bad("not a JSON object")
		}
		key, _ := k.(string)
		var dst **string
		switch key {
		case "type":
			dst = &typ
		case "token":
			dst = &tok
		default:
			// Skip it; the member's name may be anything the client sent:
			// never echo it.
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return bad("not a JSON object")
			}
			unknown = true
			continue
		}
		if *dst != nil {
			return bad(key + " given twice")
		}
		v, err := dec.Token()
		s, isString := v.(string)
		if err != nil || !isString {
			return bad(key + " is not a string")
		}
		*dst = &s
	}
	if _, err := dec.Token(); err != nil {
		return bad("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("data after the object")
	}
	switch {
	case typ == nil:
		return bad("no type")
	case *typ != "auth":
		return Credential{}, wrapError(ReasonMissing, `authenticate first: the first message must be {"type":"auth","token":"<token>"}`, ErrNotAuthMessage)
	case unknown:
		return bad("unknown member")
	case tok == nil:
		return bad("no token")
	}
	return checked(*tok, SourceMessage)
}
