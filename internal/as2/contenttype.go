package as2

import (
	"path/filepath"
	"strings"
)

// ContentTypeForName picks the content type of a payload from its file
// name, as MFT Gateway's console does, with the EDI types first.
func ContentTypeForName(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".x12", ".edi-x12":
		return "application/edi-x12"
	case ".edifact", ".edf":
		return "application/edifact"
	case ".edi":
		return "application/edi-x12"
	case ".xml":
		return "application/xml"
	case ".json":
		return "application/json"
	case ".txt", ".csv":
		return "text/plain"
	case ".pdf":
		return "application/pdf"
	}
	return "application/octet-stream"
}
