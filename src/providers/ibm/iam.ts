import { HttpError, errorDetail, parseJson, send } from '../http.js';
import { tlsOf, type EndpointTls } from '../tls.js';

export interface IamToken {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  expiration: number;
}

/**
 * IBM Cloud IAM: API key → bearer token, cached and refreshed once 80 % of its lifetime has
 * passed (at expiration − 0.2 × expires_in, as IBM's SDKs do). Never logs the key or the token.
 */
export class IamTokenProvider {
  private token?: IamToken;
  private pending?: Promise<IamToken>;
  /** How many times a token was fetched (for tests and metrics). */
  fetches = 0;

  constructor(
    private readonly o: { iamUrl: string; apiKey: string; now?: () => number } & EndpointTls,
  ) {}

  private nowS(): number {
    return Math.floor((this.o.now ?? Date.now)() / 1000);
  }

  private fresh(t: IamToken | undefined): t is IamToken {
    return !!t && this.nowS() < t.expiration - 0.2 * t.expires_in;
  }

  async bearer(): Promise<string> {
    if (!this.fresh(this.token)) {
      this.pending ??= this.fetch().finally(() => (this.pending = undefined));
      this.token = await this.pending;
    }
    return `Bearer ${this.token.access_token}`;
  }

  /** Forget the token (after a 401) so that the next call fetches a new one. */
  invalidate(): void {
    this.token = undefined;
  }

  private async fetch(): Promise<IamToken> {
    const url = new URL('/identity/token', this.o.iamUrl).toString();
    const body = new URLSearchParams({ grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: this.o.apiKey }).toString();
    const res = await send({ method: 'POST', url, body, ...tlsOf(this.o), product: 'IBM Cloud IAM', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    if (res.status >= 400) {
      // Never the raw body: IAM may echo the request, and the request holds the API key.
      const detail = errorDetail<{ errorMessage?: string; errorCode?: string }>({ status: res.status, text: res.text }, (e) => e?.errorMessage && `${e.errorMessage} (${e.errorCode ?? res.status})`, 0);
      throw new HttpError('IBM Cloud IAM', 'POST', url, res.status, res.status === 400 ? `${detail} — check ibmCloud.apiKey` : detail);
    }
    this.fetches += 1;
    return parseJson<IamToken>(res.text);
  }
}
