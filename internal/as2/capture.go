package as2

import (
	"bufio"
	"fmt"
	"io"

	"github.com/as2gate/as2gate/internal/mime"
)

// ReadCapture reads a captured HTTP request or response as people save
// them for debugging: header lines (CRLF or LF), an empty line, the body.
// An HTTP request or status line before the headers is skipped.
func ReadCapture(r io.Reader) (mime.Header, io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if first, err := br.Peek(16); err == nil || len(first) > 0 {
		line := string(first)
		if len(line) >= 5 && (line[:5] == "HTTP/" || startsWithMethod(line)) {
			if _, err := br.ReadString('\n'); err != nil {
				return mime.Header{}, nil, fmt.Errorf("as2: reading the request line: %w", err)
			}
		}
	}
	h, _, err := mime.ReadHeader(br, mime.Limits{})
	if err != nil {
		return h, nil, fmt.Errorf("as2: reading the captured headers: %w", err)
	}
	return h, br, nil
}

func startsWithMethod(s string) bool {
	for _, m := range []string{"POST ", "PUT ", "GET "} {
		if len(s) >= len(m) && s[:len(m)] == m {
			return true
		}
	}
	return false
}
