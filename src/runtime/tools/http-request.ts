// One request under the egress policy; lives in src/net (webhook deliveries use it too).
export { egressRequest, EgressRequestError, type EgressFailure, type EgressRequest, type EgressResponse } from '../../net/index.js';
