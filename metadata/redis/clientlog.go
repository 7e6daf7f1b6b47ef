package redis

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// RouteClientLogs sends the Redis client's own log lines (pool dial
// failures, reconnects) to log at debug level instead of standard error:
// the store already returns those failures as errors that say what to fix,
// and the client's process-wide logger would print them a second time.
func RouteClientLogs(log *slog.Logger) { redis.SetLogger(clientLogger{log}) }

type clientLogger struct{ log *slog.Logger }

func (l clientLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
