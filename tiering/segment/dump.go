package segment

import (
	"encoding/hex"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Dump prints f for people: the format and kind, then one line per section.
// `sluice object inspect` calls it after ReadFooter or Verify.
func Dump(w io.Writer, f Footer) error {
	var total int64
	for _, s := range f.Sections {
		total += s.Records
	}
	if _, err := fmt.Fprintf(w, "format v%d %s, %d sections, %d records, footer %d bytes\n",
		f.Version, f.Kind, len(f.Sections), total, f.Size); err != nil {
		return fmt.Errorf("printing footer: %w", err)
	}
	if len(f.Sections) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tTOPIC ID\tPARTITION\tPOS\tLEN\tBATCHES\tRECORDS\tOFFSETS\tFIRST TIMESTAMP\tMAX TIMESTAMP\tCRC")
	for _, s := range f.Sections {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%08x\n",
			s.Topic, hex.EncodeToString(s.TopicID[:]), s.Partition, s.Pos, s.Len, s.Batches,
			s.Records, offsets(s), millis(s.FirstTimestamp), millis(s.MaxTimestamp), s.CRC)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("printing footer: %w", err)
	}
	return nil
}

func offsets(s SectionIndex) string {
	if s.BaseOffset < 0 {
		return "unassigned"
	}
	return fmt.Sprintf("%d-%d", s.BaseOffset, s.LastOffset)
}

// millis renders a Kafka timestamp (Unix milliseconds); -1 means none.
func millis(ms int64) string {
	if ms < 0 {
		return fmt.Sprint(ms)
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}
