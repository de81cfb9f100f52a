package mapping

import "github.com/shopsync/shopsync"

// AttributeTypes returns the type of each attribute the mapper keeps, by
// name: the attributes a segment may test (segment.NewCompiler).
func (m *Mapper) AttributeTypes() map[string]shopsync.AttrType {
	out := make(map[string]shopsync.AttrType, len(m.specs))
	for _, s := range m.specs {
		out[s.Name] = s.Type
	}
	return out
}
