// The shared field schemas, re-exported where this module's schemas expect them.
export { Json, JsonObject, MetadataObject, Text, Uuid } from '../http/json-schemas.js';
