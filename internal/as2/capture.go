package as2

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/as2gate/as2gate/internal/mime"
)

// ReadCapture reads a captured HTTP request or response as people save
// them for debugging: header lines (CRLF or LF), an empty line, the body.
// An HTTP request or status line before the headers is skipped.
func ReadCapture(r io.Reader) (mime.Header, io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h, _, err := readCaptureHeader(br)
	return h, br, err
}

// ReadCaptureFile reads the header of a capture file and returns its body
// as a section of the file, which can be read more than once.
func ReadCaptureFile(f *os.File) (mime.Header, *io.SectionReader, error) {
	fi, err := f.Stat()
	if err != nil {
		return mime.Header{}, nil, err
	}
	h, n, err := readCaptureHeader(bufio.NewReaderSize(io.NewSectionReader(f, 0, fi.Size()), 64<<10))
	if err != nil {
		return h, nil, err
	}
	return h, io.NewSectionReader(f, n, fi.Size()-n), nil
}

// readCaptureHeader returns the header and the number of bytes before the body.
func readCaptureHeader(br *bufio.Reader) (mime.Header, int64, error) {
	var n int64
	if first, _ := br.Peek(16); len(first) >= 5 && (string(first[:5]) == "HTTP/" || startsWithMethod(string(first))) {
		line, err := br.ReadString('\n')
		if err != nil {
			return mime.Header{}, 0, fmt.Errorf("as2: reading the request line: %w", err)
		}
		n += int64(len(line))
	}
	h, raw, err := mime.ReadHeader(br, mime.Limits{})
	if err != nil {
		return h, 0, fmt.Errorf("as2: reading the captured headers: %w", err)
	}
	return h, n + int64(len(raw)), nil
}

func startsWithMethod(s string) bool {
	for _, m := range []string{"POST ", "PUT ", "GET "} {
		if len(s) >= len(m) && s[:len(m)] == m {
			return true
		}
	}
	return false
}
