/** Which way a sortable list runs: one type for every list the app sorts. */
export type SortDir = "asc" | "desc";
