package bucket

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateKey(t *testing.T) {
	valid := []string{"a", "ingest/2024-01-02/1-abc", "a.b/c-d_e", ".hidden/x", "a/...", strings.Repeat("k", MaxKeyLen)}
	for _, k := range valid {
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", k, err)
		}
	}
	invalid := []string{"", "/a", "a/", "a//b", ".", "..", "a/./b", "a/../b", "a\x00b", strings.Repeat("k", MaxKeyLen+1)}
	for _, k := range invalid {
		if err := ValidateKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%.20q) = %v, want ErrInvalidKey", k, err)
		}
	}
}
