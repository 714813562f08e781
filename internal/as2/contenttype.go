package as2

import (
	"bytes"
	"path/filepath"
	"strings"
)

// DetectContentType picks the content type of a payload from its file name
// and its first bytes: EDI by its envelope (ISA for X12, UNA/UNB for
// EDIFACT), then by extension, as MFT Gateway's console does.
func DetectContentType(name string, head []byte) string {
	ext := strings.ToLower(filepath.Ext(name))
	switch ext {
	case ".x12":
		return "application/edi-x12"
	case ".edifact":
		return "application/edifact"
	case ".xml":
		return "application/xml"
	case ".json":
		return "application/json"
	case ".pdf":
		return "application/pdf"
	}
	h := bytes.TrimLeft(head, " \t\r\n\ufeff")
	switch {
	case bytes.HasPrefix(h, []byte("ISA")):
		return "application/edi-x12"
	case bytes.HasPrefix(h, []byte("UNA")), bytes.HasPrefix(h, []byte("UNB")):
		return "application/edifact"
	case bytes.HasPrefix(h, []byte("<?xml")):
		return "application/xml"
	}
	switch ext {
	case ".txt", ".csv":
		return "text/plain"
	}
	return "application/octet-stream"
}

// ExtensionFor is the file extension for a payload of a content type that
// came without a file name.
func ExtensionFor(contentType string) string {
	switch strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])) {
	case "application/edi-x12":
		return ".x12"
	case "application/edifact":
		return ".edi"
	case "application/edi-consent":
		return ".edi"
	case "application/xml", "text/xml":
		return ".xml"
	case "application/json":
		return ".json"
	case "text/plain":
		return ".txt"
	case "application/pdf":
		return ".pdf"
	}
	return ".bin"
}
