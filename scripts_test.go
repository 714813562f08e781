package as2gate

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestScriptsNeverPromptForPasswords checks that every PostgreSQL client
// in scripts/test runs with -w: without it a server asking for a password
// would leave CI waiting at a prompt no one answers, instead of failing.
func TestScriptsNeverPromptForPasswords(t *testing.T) {
	text, err := os.ReadFile("scripts/test")
	if err != nil {
		t.Fatal(err)
	}
	client := regexp.MustCompile(`\b(psql|createdb|dropdb|createuser|dropuser)\s+(\S+)`)
	found := 0
	for i, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range client.FindAllStringSubmatch(line, -1) {
			found++
			if m[2] != "-w" {
				t.Errorf("scripts/test:%d: %s without -w as its first option: %s", i+1, m[1], strings.TrimSpace(line))
			}
		}
	}
	if found == 0 {
		t.Error("no PostgreSQL client found in scripts/test: is this test still needed?")
	}
}
