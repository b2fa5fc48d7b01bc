package client

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/scanfree/scanfree/internal/deviceapi"
)

// TestUserDataIsTheWireFormat: the public UserData reads and writes the
// JSON of the daemon's answer field for field.
func TestUserDataIsTheWireFormat(t *testing.T) {
	in := deviceapi.AppData{UserInfo: map[string]any{"nickName": "Alice"}, RawData: "{}", Signature: "s", EncryptedData: "e", IV: "i",
		Phone: &deviceapi.EncryptedData{EncryptedData: "pe", IV: "pi"}}
	b, _ := json.Marshal(in)
	var d UserData
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	back, _ := json.Marshal(d)
	var a, c map[string]any
	json.Unmarshal(b, &a)
	json.Unmarshal(back, &c)
	if !reflect.DeepEqual(a, c) {
		t.Fatalf("UserData round trip changed the JSON:\n%s\n%s", b, back)
	}
}
