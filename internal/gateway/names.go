package gateway

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/as2gate/as2gate"
)

// maxNameKeyBytes bounds the key element of a stored file's name: file
// systems take 255 bytes, KeyElement writes some characters as three, and
// uniqueName may add a few for "-2", "-3" ...
const maxNameKeyBytes = 240

// storedName is the name a message's file is kept under: short enough for
// its key element to be a file name, and unique among used.
func storedName(name string, used map[string]bool) string {
	return uniqueName(fitName(name), used)
}

// fitName shortens a name, keeping its extension (when it looks like one),
// until its key element takes at most maxNameKeyBytes.
func fitName(name string) string {
	base, ext := splitExt(name)
	if len(as2gate.KeyElement(ext)) > 32 {
		base, ext = name, ""
	}
	for len(as2gate.KeyElement(base+ext)) > maxNameKeyBytes {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base + ext
}

// uniqueName adds -2, -3 ... before the extension of a name already used.
func uniqueName(name string, used map[string]bool) string {
	base, ext := splitExt(name)
	candidate := name
	for n := 2; used[strings.ToLower(candidate)]; n++ {
		candidate = fmt.Sprintf("%s-%d%s", base, n, ext)
	}
	used[strings.ToLower(candidate)] = true
	return candidate
}

func splitExt(name string) (base, ext string) {
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		return name[:i], name[i:]
	}
	return name, ""
}
