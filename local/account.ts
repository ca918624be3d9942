/**
 * The local AWS account: the id every local ARN carries, and the paths the one AWS endpoint reserves.
 * A leaf: the Step Functions engine, the bootstrap and the endpoint all read it, and it imports nothing.
 */
export const LOCAL_ACCOUNT = '123456789012';

/** Where the control-plane API answers on the AWS endpoint (the stack output ControlPlaneUrl says so). */
export const CONTROL_PLANE_PATH = '/control-plane';
