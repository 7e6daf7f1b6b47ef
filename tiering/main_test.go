package tiering

import (
	"testing"

	"github.com/sluicehq/sluice/integration/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
