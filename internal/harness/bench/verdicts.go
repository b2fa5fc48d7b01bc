package bench

import (
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
)

// Verdict is one target measured in this run: a ratio of two figures of
// the same run (or a figure and its bound) and whether it meets the bound.
type Verdict struct {
	Target   string  // what is measured against what
	Measured string  // the figures behind the ratio
	Ratio    float64 // the measured ratio
	Bound    float64 // the target's bound on Ratio
	AtMost   bool    // the bound is a ceiling (else a floor)
}

// Met reports whether v's ratio is within its bound.
func (v Verdict) Met() bool {
	if v.AtMost {
		return v.Ratio <= v.Bound
	}
	return v.Ratio >= v.Bound
}

func (v Verdict) String() string {
	op, verdict := ">=", "met"
	if v.AtMost {
		op = "<="
	}
	if !v.Met() {
		verdict = "NOT MET"
	}
	return fmt.Sprintf("%s: %.2f (%s) target %s %.2f: %s", v.Target, v.Ratio, v.Measured, op, v.Bound, verdict)
}

var verdicts struct {
	sync.Mutex
	list []Verdict
}

// judge prints v under the scenario's table and keeps it for Verdicts.
func judge(w io.Writer, v Verdict) {
	fmt.Fprintln(w, "target", v)
	verdicts.Lock()
	verdicts.list = append(verdicts.list, v)
	verdicts.Unlock()
}

// PrintVerdicts writes every target judged in this run, as a table.
func PrintVerdicts(w io.Writer) {
	verdicts.Lock()
	defer verdicts.Unlock()
	if len(verdicts.list) == 0 {
		return
	}
	fmt.Fprintf(w, "\n== targets, this run ==\n")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tmeasured\tratio\tbound\tverdict")
	met := 0
	for _, v := range verdicts.list {
		op, verdict := ">=", "met"
		if v.AtMost {
			op = "<="
		}
		if v.Met() {
			met++
		} else {
			verdict = "not met"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s %.2f\t%s\n", v.Target, v.Measured, v.Ratio, op, v.Bound, verdict)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d targets met\n", met, len(verdicts.list))
}
