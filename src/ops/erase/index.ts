export { eraseRoutes } from './erase-routes.js';
export { eraseOrganization, eraseUser, type EraseDeps, type StepUpInput, type OrgErasure, type UserErasure } from './erase-service.js';
