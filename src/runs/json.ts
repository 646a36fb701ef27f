// The shared field schemas, re-exported where this module's schemas expect them.
export { Json, JsonObject, MetadataFilter, MetadataObject, Tag, Tags, Text, Uuid } from '../http/json-schemas.js';
