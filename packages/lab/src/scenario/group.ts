/** The broker that coordinates the coordinators' consumer group (and the observer's) in every session. */
export const GROUP_COORDINATOR_BROKER = 1;
