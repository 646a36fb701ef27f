// The egress policy lives in src/net (webhook deliveries use it too); re-exported for the runtime's files.
export {
  addressCategory, EgressRefusedError, pinnedLookup, resolveEgress, type EgressPolicy, type EgressRefusal, type ResolvedAddress,
} from '../../net/index.js';
