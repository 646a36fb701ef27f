// The shared field schemas, re-exported where this module's schemas expect them.
export { Json, JsonObject, Text, Uuid } from '../http/json-schemas.js';
