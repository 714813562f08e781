package as2gate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/as2gate/as2gate/internal/as2"
)

// BlobStore keeps payload bytes (files, raw messages, headers, MDNs) under
// keys laid out as MFT Gateway's bucket is: AS2/files/<station>/<partner>/
// inbox|outbox/<folder>/<file>, AS2/raw-message/... (headers and body in
// one file), AS2/raw-mdn/..., and AS2/send/<station>/<partner>/ for files
// to send.
type BlobStore interface {
	// Put stores r under key: when it returns, the object is complete
	// and durable (it survives a crash); before, nothing is visible.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Import moves a local file under key, durably; the file is gone
	// afterwards (renamed when it can be).
	Import(ctx context.Context, key, path string) (int64, error)
	// Open reads an object and tells its size.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	Stat(ctx context.Context, key string) (BlobInfo, error)
	Delete(ctx context.Context, key string) error
	// List returns the objects under a prefix (recursively).
	List(ctx context.Context, prefix string) ([]BlobInfo, error)
	// Rename moves an object to another key, durably (ENotFound when
	// there is no object at from).
	Rename(ctx context.Context, from, to string) error
	// Move is Rename for moves that are redone after a crash when needed:
	// it need not be durable, and after a crash the object may be found
	// at from again (whole, never at both keys with one missing).
	Move(ctx context.Context, from, to string) error
}

// BlobInfo describes a stored object.
type BlobInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// KeyElement turns an AS2 identifier or a file name into one safe key
// element: bytes other than letters, digits, space, -._~+=@,!()[]{}#&$' and
// (in valid UTF-8) non-ASCII characters are percent-encoded, as is a leading
// dot, so that no identifier or name can reach a parent folder or another
// one's files. The mapping is reversible (see ParseKeyElement).
func KeyElement(s string) string {
	if s == "" {
		return "%"
	}
	utf8OK := utf8.ValidString(s)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte(" -._~+=@,!()[]{}#&$'", c) >= 0 || (c >= 0x80 && utf8OK)
		if !safe || (i == 0 && (c == '.' || c == ' ')) || (i == len(s)-1 && c == ' ') {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// maxKeyElement is the longest file name of the usual file systems.
const maxKeyElement = 255

// checkAS2ID validates the AS2 identifier of a station or a partner, which
// also names folders: its key element must be a file name.
func checkAS2ID(id string) error {
	if err := as2.CheckID(id); err != nil {
		return Invalid("as2_id", "%v", strings.TrimPrefix(err.Error(), "as2: "))
	}
	if len(KeyElement(id)) > maxKeyElement {
		return Invalid("as2_id", "%q has too many characters that folder names must escape", id)
	}
	return nil
}

// ParseKeyElement reverses KeyElement.
func ParseKeyElement(e string) (string, error) {
	if e == "%" {
		return "", nil
	}
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		if e[i] != '%' {
			b.WriteByte(e[i])
			continue
		}
		if i+2 >= len(e) {
			return "", Invalid("key", "bad escape in %q", e)
		}
		v, err := hex.DecodeString(e[i+1 : i+3])
		if err != nil {
			return "", Invalid("key", "bad escape in %q", e)
		}
		b.WriteByte(v[0])
		i += 2
	}
	return b.String(), nil
}

// Folder names where a message's blobs go: <epoch-millis>-<random>.
func NewFolderName(t time.Time) string {
	var r [4]byte
	rand.Read(r[:])
	return fmt.Sprintf("%d-%s", t.UnixMilli(), hex.EncodeToString(r[:]))
}

func box(dir Direction) string {
	if dir == Inbound {
		return "inbox"
	}
	return "outbox"
}

// MessageKeys are the blob keys of a message. The raw message and MDN are
// one file each beside the others of the box, not in a folder of their
// own: a folder costs a directory to create and to make durable, which at
// hundreds of messages a second is a tenth of the receiver's time.
type MessageKeys struct {
	Folder string // AS2/files/<station>/<partner>/<box>/<name>
	Raw    string // AS2/raw-message/<station>/<partner>/<box>/<name>.raw: headers and body
	MDN    string // AS2/raw-mdn/<station>/<partner>/<box>/<name>.raw: headers and body
}

// KeysFor lays out the blob keys of a message.
func KeysFor(stationAS2ID, partnerAS2ID string, dir Direction, folderName string) MessageKeys {
	tail := KeyElement(stationAS2ID) + "/" + KeyElement(partnerAS2ID) + "/" + box(dir) + "/" + folderName
	return MessageKeys{
		Folder: "AS2/files/" + tail,
		Raw:    "AS2/raw-message/" + tail + ".raw",
		MDN:    "AS2/raw-mdn/" + tail + ".raw",
	}
}

// SendPrefix is where files dropped for a station and partner are picked up.
func SendPrefix(stationAS2ID, partnerAS2ID string) string {
	return "AS2/send/" + KeyElement(stationAS2ID) + "/" + KeyElement(partnerAS2ID) + "/"
}
