package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestValidateTopicConfig(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{"retention.ms", "-1", true},
		{"retention.ms", "0", true},
		{"retention.ms", "9223372036854775807", true},
		{"retention.ms", "-2", false},
		{"retention.ms", "1h", false},
		{"retention.ms", "", false},
		{"retention.bytes", "-1", true},
		{"retention.bytes", "-2", false},
		{"cleanup.policy", "delete", true},
		{"cleanup.policy", "compact", true},
		{"cleanup.policy", "compact,delete", true},
		{"cleanup.policy", "delete, compact", true},
		{"cleanup.policy", "", false},
		{"cleanup.policy", "delete,shred", false},
		{"max.message.bytes", "0", true},
		{"max.message.bytes", "-1", false},
		{"max.message.bytes", "2147483648", false}, // an INT
		{"message.timestamp.type", "CreateTime", true},
		{"message.timestamp.type", "LogAppendTime", true},
		{"message.timestamp.type", "createtime", false},
		{"compression.type", "zstd", true},
		{"compression.type", "brotli", false},
		{"min.insync.replicas", "0", false},
		{"segment.bytes", "1048575", false},
		{"segment.ms", "0", false},
		{"flush.ms", "1", false},
	} {
		err := validateTopicConfig(tc.key, tc.value)
		if (err == nil) != tc.ok {
			t.Errorf("%s=%q: err %v, want ok=%v", tc.key, tc.value, err, tc.ok)
		}
		if err != nil && (!errors.Is(err, kerr.InvalidConfig) || !strings.Contains(err.Error(), tc.key)) {
			t.Errorf("%s=%q: %v is not INVALID_CONFIG naming the key", tc.key, tc.value, err)
		}
	}
}

func TestEveryDefaultIsValid(t *testing.T) {
	for k, d := range topicConfigDefs {
		if err := validateTopicConfig(k, d.def); err != nil {
			t.Errorf("default of %s: %v", k, err)
		}
		if d.synonym == "" || d.doc == "" || d.typ == 0 {
			t.Errorf("%s lacks a synonym, doc or type", k)
		}
	}
}

func TestListEdits(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{appendList("delete", "compact"), "delete,compact"},
		{appendList("delete", "delete"), "delete"},
		{appendList("", "compact,delete"), "compact,delete"},
		{subtractList("delete,compact", "delete"), "compact"},
		{subtractList("delete, compact", "compact,delete"), ""},
		{subtractList("delete", "compact"), "delete"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
