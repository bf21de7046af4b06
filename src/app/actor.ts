/** Who is acting, for the audit log: TENURE_ACTOR when set (CI, a service), else the OS user. */
export function actor(): string {
  return process.env.TENURE_ACTOR ?? process.env.USER ?? 'tenure';
}
