package cli

import (
	"fmt"
	"strconv"
	"strings"

	"howett.net/plist"
)

// The machine's settings come from where each OS's administrators set
// them (machine_*.go): a file on Linux, the policy registry key on
// Windows, a configuration profile on macOS. These read what the latter
// two hold into the settings' values; they are portable so that they are
// tested wherever the tests run.

// policyValues turns the values an administrator set into settings:
// strings and numbers as the flag would read them, lists of strings as
// lists. A profile's own Payload* keys are not settings.
func policyValues(raw map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range raw {
		if strings.HasPrefix(k, "Payload") {
			continue
		}
		switch v := v.(type) {
		case string:
			// An empty value sets nothing: the MSI writes its policy
			// values whether or not its properties were given.
			if v != "" {
				out[k] = v
			}
		case []string:
			out[k] = v
		case []any:
			list := make([]string, 0, len(v))
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("%s: a list of strings, not of %T", k, e)
				}
				list = append(list, s)
			}
			out[k] = list
		case bool:
			out[k] = strconv.FormatBool(v)
		case uint64:
			out[k] = strconv.FormatUint(v, 10)
		case int64:
			out[k] = strconv.FormatInt(v, 10)
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return nil, fmt.Errorf("%s: a %T is no setting's value", k, v)
		}
	}
	return out, nil
}

// profileValues reads a configuration profile's managed preferences (an
// XML or binary property list) for scanfreed's domain.
func profileValues(b []byte) (map[string]any, error) {
	var raw map[string]any
	if _, err := plist.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("read the managed preferences: %w", err)
	}
	return policyValues(raw)
}
