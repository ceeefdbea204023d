// The positions CSV: riskdesk's packaged sample book and the raw upload to the import route.

import { post } from "../api.js";

/** Where the service serves riskdesk's sample book (src/riskdesk/risk/samples/demo_book.csv). */
export const SAMPLE_URL = "/static/samples/demo_book.csv";

export const CSV_HEADER = "ticker,quantity,entry_price,entry_date,tags";

/** The packaged sample book's text. */
export async function sampleCsv() {
  const response = await fetch(SAMPLE_URL);
  if (!response.ok) throw new Error(`the sample book could not be loaded (HTTP ${response.status})`);
  return response.text();
}

/** POST the CSV text itself (Content-Type: text/csv) to the portfolio's import route. */
export function uploadCsv(portfolioId, text, today) {
  const query = today ? `?today=${encodeURIComponent(today)}` : "";
  return post(`/v1/portfolios/${portfolioId}/positions/import${query}`, text, {
    headers: { "Content-Type": "text/csv" },
  });
}
