import Foundation
import Mustache

/// The console's templates, compiled into the binary. `{{x}}` is HTML-escaped; `{{{x}}}` is used only for
/// HTML the console itself produced (the page inside the layout, and server-drawn SVG).
enum ConsoleTemplates {
    static let sources: [String: String] = [
        "layout": layout, "message": message, "sign-in": signIn, "today": today, "exceptions": exceptions,
        "statements": statements, "statement-result": statementResult, "profiles": profiles, "profile": profile,
        "payments": payments, "payment": payment, "listings": listings, "directory": directory, "settings": settings, "books": books,
    ]

    /// Every template compiled, or the first that does not parse (a defect a test catches).
    static let library: Result<MustacheLibrary, any Error> = Result {
        var library = MustacheLibrary()
        for (name, source) in sources { try library.register(source, named: name) }
        return library
    }

    static func render(_ name: String, _ data: [String: Any]) -> String {
        switch library {
        case .success(let library):
            return library.render(data, withTemplate: name) ?? "<p>The page '\(name)' is missing.</p>"
        case .failure(let error):
            return "<p>The console's templates cannot be read: \(String(describing: error).replacingOccurrences(of: "<", with: "&lt;"))</p>"
        }
    }

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · ListingLedger</title>
        <link rel="stylesheet" href="/console/assets/console.css">
        <script src="/console/assets/console.js" defer></script>
        </head>
        <body>
        <a class="skip" href="#main">Skip to the content</a>
        <header class="top">
        <p class="brand"><a href="/console">ListingLedger</a></p>
        {{#user}}
        <nav aria-label="Main"><ul>
        {{#nav}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>{{/nav}}
        </ul></nav>
        <form method="post" action="/console/sign-out" class="sign-out">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <span class="who">{{name}}</span> <button type="submit" class="link">Sign out</button>
        </form>
        {{/user}}
        </header>
        <main id="main" tabindex="-1">
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        {{{body}}}
        </main>
        </body>
        </html>
        """

    static let message = """
        <h1>{{heading}}</h1>
        <p>{{message}}</p>
        <p><a href="/console">Go to the console</a></p>
        """

    static let signIn = """
        <section class="narrow">
        <h1>Sign in</h1>
        <form method="post" action="/console/sign-in" class="stack">
        <input type="hidden" name="_signin" value="{{signInToken}}">
        <input type="hidden" name="next" value="{{next}}">
        <label for="email">E-mail address</label>
        <input id="email" name="email" type="email" autocomplete="username" required value="{{email}}">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <button type="submit">Sign in</button>
        </form>
        <p class="hint">Accounts are created by whoever runs the service, with <code>listing-ledger users add</code>.</p>
        </section>
        """

    static let today = """
        <h1>Today</h1>
        <p class="lead">{{todayWords}}</p>
        <section aria-labelledby="waiting">
        <h2 id="waiting">Waiting for a decision</h2>
        <ul class="cards">
        <li><a href="/console/exceptions"><strong>{{exceptionCount}}</strong> {{exceptionWords}}</a></li>
        <li><a href="/console/directory"><strong>{{deadCount}}</strong> {{deadWords}}</a></li>
        <li><a href="/console/statements">{{statementWords}}</a></li>
        </ul>
        </section>
        <section aria-labelledby="expiring">
        <h2 id="expiring">Expiring</h2>
        <div class="columns">
        {{#expiring}}
        <div>
        <h3>{{label}}</h3>
        {{^rows}}<p>No listing expires then.</p>{{/rows}}
        <ul>{{#rows}}<li><a href="/console/profiles/{{profileId}}">{{displayName}}</a> — until {{until}}</li>{{/rows}}</ul>
        {{#more}}<p><a href="/console/listings?view={{view}}">All {{total}}</a></p>{{/more}}
        </div>
        {{/expiring}}
        </div>
        </section>
        <section aria-labelledby="income">
        <h2 id="income">Income by month</h2>
        {{{incomeChart}}}
        </section>
        <section aria-labelledby="listed">
        <h2 id="listed">Listed profiles, last 24 months</h2>
        {{{listedChart}}}
        </section>
        """

    static let exceptions = """
        <h1>Exceptions</h1>
        <p>Payments the ledger could not place by itself. Each needs a decision; every decision needs a reason.</p>
        <p>{{#all}}<a href="/console/exceptions">Show only the waiting ones</a> (the latest decision first){{/all}}{{^all}}<a href="/console/exceptions?all=1">Show resolved ones too</a>{{/all}}</p>
        {{^rows}}<p class="empty">Nothing is waiting. Well done.</p>{{/rows}}
        {{#rows}}
        <article class="item{{#resolved}} resolved{{/resolved}}" id="p-{{paymentId}}">
        <h2>{{amountWords}} by {{methodWords}} <small>{{raisedWords}}</small></h2>
        <p><strong>Why it waits:</strong> {{reason}}</p>
        {{#details}}<p class="details"><strong>As received:</strong> {{details}}</p>{{/details}}
        {{#profileId}}<p>For profile <a href="/console/profiles/{{profileId}}">{{profileId}}</a>.</p>{{/profileId}}
        <p><a href="/console/payments/{{paymentId}}">Every fact about this payment</a></p>
        {{#resolved}}
        <p class="done">Resolved: {{resolutionWords}}.</p>
        <form method="post" action="/console/exceptions/{{paymentId}}/reopen" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="reopen-{{paymentId}}">Reason to reopen</label>
        <input id="reopen-{{paymentId}}" name="reason" required>
        <button type="submit" class="secondary">Reopen</button>
        </form>
        {{/resolved}}
        {{^resolved}}
        {{#suggestedProfileId}}
        <form method="post" action="/console/exceptions/{{paymentId}}/resolve" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <input type="hidden" name="resolution" value="allocate">
        <input type="hidden" name="profileId" value="{{suggestedProfileId}}">
        <input type="hidden" name="reason" value="matched to the suggested profile">
        <button type="submit">Allocate to {{suggestedName}}</button>
        </form>
        {{/suggestedProfileId}}
        {{#suggestedPayout}}
        <form method="post" action="/console/exceptions/{{paymentId}}/resolve" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <input type="hidden" name="resolution" value="{{resolution}}">
        <input type="hidden" name="reason" value="a payout from {{provider}}, named in the transfer">
        <button type="submit">It is a payout from {{provider}}</button>
        </form>
        {{/suggestedPayout}}
        <details>
        <summary>Another decision</summary>
        <form method="post" action="/console/exceptions/{{paymentId}}/resolve" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="resolution-{{paymentId}}">Decision</label>
        <select id="resolution-{{paymentId}}" name="resolution">
        <option value="allocate">Allocate to one profile</option>
        <option value="split">Split across several profiles</option>
        <option value="accept-short">Accept a short payment as a full contribution</option>
        <option value="donation">Keep it as a donation</option>
        <option value="not-contribution">Not a contribution (other income)</option>
        <option value="refund">Pay it back</option>
        <option value="card-payout">A payout from the card provider</option>
        <option value="paypal-payout">A payout from PayPal</option>
        </select>
        <label for="profile-{{paymentId}}">Profile id (allocate, accept short)</label>
        <input id="profile-{{paymentId}}" name="profileId" value="{{profileId}}">
        <label for="shares-{{paymentId}}">Shares (split): one per line, profile id and amount, like <code>ada-1 125.00</code></label>
        <textarea id="shares-{{paymentId}}" name="shares" rows="3"></textarea>
        <label for="reason-{{paymentId}}">Reason (required)</label>
        <input id="reason-{{paymentId}}" name="reason" required>
        <button type="submit">Record the decision</button>
        </form>
        </details>
        {{/resolved}}
        </article>
        {{/rows}}
        <p class="pager">{{#previous}}<a href="{{previous}}">Previous</a>{{/previous}} {{#next}}<a href="{{next}}">Next</a>{{/next}}</p>
        """

    static let statements = """
        <h1>Bank statements</h1>
        <section aria-labelledby="upload">
        <h2 id="upload">Import a statement</h2>
        <p>A camt.053 (XML), MT940 or CSV file from the bank. A file imported twice books nothing twice.</p>
        <form method="post" action="/console/statements" enctype="multipart/form-data" class="stack" data-progress="upload-progress" data-max-bytes="{{uploadBytesMax}}" data-too-large="upload-too-large">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label for="statement">Statement file</label>
        <input id="statement" name="statement" type="file" required>
        <p id="upload-too-large" class="error" role="alert" tabindex="-1" hidden>{{tooLarge}}</p>
        <progress id="upload-progress" max="100" value="0" hidden>0%</progress>
        <button type="submit">Import</button>
        </form>
        </section>
        {{#hasReturns}}
        <section aria-labelledby="returns">
        <h2 id="returns">Returned transfers that match no payment</h2>
        <p>The bank sent these back, but the ledger cannot tell which payment each one returns, so no listing changed.
        Find the payment (Payments, by amount and payer), then refund it or take back what it bought.</p>
        <table>
        <thead><tr><th scope="col">Day</th><th scope="col" class="num">Amount</th><th scope="col">What the bank says</th></tr></thead>
        <tbody>
        {{#returns}}<tr><td>{{date}}</td><td class="num">{{amount}}</td><td>{{words}}</td></tr>{{/returns}}
        </tbody>
        </table>
        </section>
        {{/hasReturns}}
        <section aria-labelledby="past">
        <h2 id="past">Statements with balances</h2>
        <p>The latest 50 statements of the last 800 days that state a closing balance, checked against the books. A CSV
        file states no balance, so it is not listed here: its payments are on the Payments page.</p>
        {{^past}}<p class="empty">No statement with a closing balance has been imported in the last 800 days.</p>{{/past}}
        <table>
        <thead><tr><th scope="col">Last booking day</th><th scope="col">Statement</th><th scope="col">Account</th><th scope="col" class="num">Closing balance</th></tr></thead>
        <tbody>
        {{#past}}<tr><td>{{date}}</td><td>{{statementId}}</td><td>{{account}}</td><td class="num">{{balance}}</td></tr>{{/past}}
        </tbody>
        </table>
        </section>
        """

    static let books = """
        <h1>Books</h1>
        <p class="lead">For the accountant: every payment, refund, chargeback, return and bank line of the chosen days as
        journal entries, with the bank balances of the imported statements to check them against.</p>
        <section aria-labelledby="download">
        <h2 id="download">Download the journal</h2>
        <p><a href="/console/books/journal?format=beancount&amp;from={{lastYearFrom}}&amp;to={{lastYearTo}}">All of {{lastYear}} (Beancount)</a> ·
        <a href="/console/books/journal?format=beancount&amp;from={{thisYearFrom}}&amp;to={{thisYearTo}}">{{thisYear}} so far (Beancount)</a></p>
        <form method="get" action="/console/books/journal" class="stack">
        <label for="from">First day</label>
        <input id="from" name="from" type="date" value="{{from}}">
        <label for="to">Last day</label>
        <input id="to" name="to" type="date" value="{{to}}">
        <label for="format">File</label>
        <select id="format" name="format"><option value="beancount">Beancount (the accountant's ledger, checked with bean-check)</option><option value="csv">CSV (one line per posting, for a spreadsheet)</option></select>
        <button type="submit">Download</button>
        </form>
        </section>
        """

    static let statementResult = """
        <h1>Statement imported</h1>
        <p class="lead">{{fileWords}}</p>
        <dl class="facts">
        <dt>Lines read</dt><dd>{{lines}}</dd>
        <dt>Booked to a profile</dt><dd>{{matched}}</dd>
        <dt>Already imported before (skipped)</dt><dd>{{alreadyImported}}</dd>
        <dt>Waiting for a decision</dt><dd>{{queued}}{{#queued}} — <a href="/console/exceptions">decide now</a>{{/queued}}</dd>
        <dt>Returned transfers</dt><dd>{{returns}}</dd>
        {{#unmatchedReturns}}<dt>Returned transfers that match no payment</dt><dd>{{unmatchedReturns}} — find the payment each returns, then refund it or take back what it bought</dd>{{/unmatchedReturns}}
        <dt>Money going out (not booked here)</dt><dd>{{debits}}</dd>
        <dt>Not booked</dt><dd>{{notBooked}}</dd>
        {{#zeroAmount}}<dt>Lines of 0.00</dt><dd>{{zeroAmount}} — they move no money, so they are neither payments nor in the books</dd>{{/zeroAmount}}
        {{#bookedOneByOne}}<dt>Booked one at a time</dt><dd>{{bookedOneByOne}} — their hundred could not be written whole (usually because payments for the same profiles were recorded meanwhile), so these took longer; nothing is lost or doubled</dd>{{/bookedOneByOne}}
        </dl>
        <p><a href="/console/payments?method=bank">Bank payments</a> · <a href="/console/statements">Import another</a></p>
        """

    static let profiles = """
        <h1>Profiles</h1>
        <form method="get" action="/console/profiles" class="search" role="search">
        <label for="q">Find by name, e-mail, profile id or RF reference</label>
        <input id="q" name="q" value="{{query}}" type="search">
        <button type="submit">Search</button>
        </form>
        {{#searched}}
        {{^hits}}<p class="empty">No profile matches “{{query}}”.</p>{{/hits}}
        <ul class="results">
        {{#hits}}<li><a href="/console/profiles/{{profileId}}">{{displayName}}</a> <span class="muted">{{profileId}} · {{contactEmail}} · {{kind}}</span></li>{{/hits}}
        </ul>
        {{/searched}}
        <details{{#registerOpen}} open{{/registerOpen}}>
        <summary>Register a profile</summary>
        <form method="post" action="/console/profiles" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="profileId">Profile id (as the website knows it)</label>
        <input id="profileId" name="profileId" required value="{{form.profileId}}">
        <label for="displayName">Name</label>
        <input id="displayName" name="displayName" required value="{{form.displayName}}">
        <label for="contactEmail">E-mail address</label>
        <input id="contactEmail" name="contactEmail" type="email" required value="{{form.contactEmail}}">
        <label for="kind">Kind</label>
        <select id="kind" name="kind"><option value="mediator">Mediator</option><option value="advocate">Advocate</option></select>
        <button type="submit">Register</button>
        </form>
        </details>
        """

    static let profile = """
        <h1>{{displayName}}</h1>
        <p class="muted">{{profileId}} · {{kindWords}} · {{contactEmail}} · certification: {{certificationWords}}</p>
        <p class="status status-{{status}}">{{statusSentence}}</p>
        <p>Bank reference for the contribution: <strong class="ref">{{reference}}</strong></p>
        <section aria-labelledby="asof">
        <h2 id="asof">Was this profile listed on a given day?</h2>
        <form method="get" action="/console/profiles/{{profileId}}#asof" class="inline">
        <label for="at">Day</label>
        <input id="at" name="at" type="date" value="{{at}}" required>
        <button type="submit">Check</button>
        </form>
        {{#asOfAnswer}}<p class="answer">{{asOfAnswer}}</p>{{/asOfAnswer}}
        </section>
        <section aria-labelledby="actions">
        <h2 id="actions">Actions</h2>
        <div class="actions">
        <details><summary>Certification</summary>
        <form method="post" action="/console/profiles/{{profileId}}/certification" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="action">Change</label>
        <select id="action" name="action"><option value="grant">Certify</option><option value="suspend">Suspend</option><option value="revoke">Revoke</option><option value="reinstate">Reinstate</option></select>
        <label for="cert-reason">Reason</label><input id="cert-reason" name="reason" required>
        <button type="submit">Record</button>
        </form></details>
        <details><summary>Record an offline payment</summary>
        <form method="post" action="/console/profiles/{{profileId}}/offline-payments" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="amount">Amount in euros</label><input id="amount" name="amount" inputmode="decimal" placeholder="125.00" required>
        <label for="date">Date received</label><input id="date" name="date" type="date" required>
        <label for="purpose">For</label>
        <select id="purpose" name="purpose"><option value="listing">Listing contribution</option><option value="donation">Donation</option></select>
        <label for="note">Note</label><input id="note" name="note">
        <label class="check"><input type="checkbox" name="confirmDuplicate" value="yes"> This is not a duplicate of a payment with the same amount and date</label>
        <button type="submit">Record the payment</button>
        </form></details>
        <details><summary>Grant a waiver</summary>
        <form method="post" action="/console/profiles/{{profileId}}/waivers" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="from">From</label><input id="from" name="from" type="date" required>
        <label for="through">Through</label><input id="through" name="through" type="date" required>
        <label for="waiver-reason">Reason</label><input id="waiver-reason" name="reason" required>
        <button type="submit">Grant</button>
        </form></details>
        </div>
        {{#waivers}}
        <form method="post" action="/console/profiles/{{profileId}}/waivers/{{waiverPath}}/revoke" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <span>Waiver {{from}} – {{through}} ({{reason}})</span>
        <label for="revoke-{{waiverId}}">Reason to revoke</label><input id="revoke-{{waiverId}}" name="reason" required>
        <button type="submit" class="secondary">Revoke the waiver</button>
        </form>
        {{/waivers}}
        </section>
        <section aria-labelledby="payments">
        <h2 id="payments">Payments</h2>
        {{^payments}}<p class="empty">No payment has been allocated to this profile.</p>{{/payments}}
        <ul>{{#payments}}<li><a href="/console/payments/{{paymentId}}">{{amount}} on {{date}}</a>{{#reversed}} — taken back ({{reversed}}){{/reversed}}</li>{{/payments}}</ul>
        </section>
        <section aria-labelledby="timeline">
        <h2 id="timeline">What happened</h2>
        <ul class="timeline">
        {{#timeline}}<li><time>{{at}}</time> {{summary}}{{#actor}} <span class="muted">— {{actor}}</span>{{/actor}}</li>{{/timeline}}
        </ul>
        </section>
        """

    static let payments = """
        <h1>Payments</h1>
        <form method="get" action="/console/payments" class="filters">
        <label for="method">Method</label>
        <select id="method" name="method">{{#methods}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/methods}}</select>
        <label for="purpose">Purpose</label>
        <select id="purpose" name="purpose">{{#purposes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/purposes}}</select>
        <label for="month">Month</label>
        <input id="month" name="month" type="month" value="{{month}}" placeholder="2026-01">
        <label for="state">State</label>
        <select id="state" name="state">{{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/states}}</select>
        <button type="submit">Show</button>
        </form>
        {{^rows}}<p class="empty">No payment matches.</p>{{/rows}}
        <table>
        <thead><tr><th scope="col">Date</th><th scope="col" class="num">Amount</th><th scope="col">Method</th><th scope="col">For</th><th scope="col">Profile</th><th scope="col">State</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td><a href="/console/payments/{{paymentId}}">{{date}}</a></td><td class="num">{{amount}}</td><td>{{method}}</td><td>{{purpose}}</td><td>{{#profileId}}<a href="/console/profiles/{{profileId}}">{{profileId}}</a>{{/profileId}}</td><td>{{state}}</td></tr>{{/rows}}
        </tbody>
        </table>
        <p class="pager">{{#previous}}<a href="{{previous}}">Newer</a>{{/previous}} {{#next}}<a href="{{next}}">Older</a>{{/next}}</p>
        """

    static let payment = """
        <h1>{{amount}} by {{method}}</h1>
        <p class="lead">{{summary}}</p>
        <dl class="facts">
        <dt>Payment id</dt><dd><code>{{paymentId}}</code></dd>
        <dt>Received on</dt><dd>{{date}}</dd>
        <dt>For</dt><dd>{{purpose}}</dd>
        <dt>Profile</dt><dd>{{#profileId}}<a href="/console/profiles/{{profileId}}">{{profileId}}</a>{{/profileId}}{{^profileId}}none{{/profileId}}</dd>
        <dt>Paid back</dt><dd>{{refunded}}</dd>
        {{#held}}<dt>Held because</dt><dd>{{held}}</dd>{{/held}}
        {{#resolution}}<dt>Staff decision</dt><dd>{{resolution}}</dd>{{/resolution}}
        {{#voided}}<dt>Voided</dt><dd>{{voided}}</dd>{{/voided}}
        {{#returned}}<dt>Returned</dt><dd>{{returned}}</dd>{{/returned}}
        {{#givenBack}}<dt>Given back by hand</dt><dd>{{text}}</dd>{{/givenBack}}
        </dl>
        <h2>Allocations</h2>
        {{^allocations}}<p class="empty">Not allocated to any profile.</p>{{/allocations}}
        <ul>{{#allocations}}<li><a href="/console/profiles/{{profileId}}">{{profileId}}</a>: {{amount}} — {{state}}</li>{{/allocations}}</ul>
        <h2>Receipts</h2>
        <ul>{{#receipts}}<li><a href="/console/receipts/{{number}}">{{kind}} {{number}}</a></li>{{/receipts}}</ul>
        <form method="post" action="/console/payments/{{paymentId}}/receipts" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <button type="submit" class="secondary">Show the receipt and any credit notes</button>
        </form>
        <h2>History</h2>
        <ul class="timeline">{{#history}}<li><time>{{at}}</time> {{type}}{{#by}} <span class="muted">— {{by}}</span>{{/by}}</li>{{/history}}</ul>
        <h2>Corrections</h2>
        <div class="actions">
        {{#canReassign}}
        <details><summary>Move to another profile</summary>
        <form method="post" action="/console/payments/{{paymentId}}/reassign" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="from">From profile id</label>
        <select id="from" name="fromProfileId">{{#moveFrom}}<option value="{{profileId}}">{{profileId}}</option>{{/moveFrom}}</select>
        <label for="to">To profile id</label><input id="to" name="toProfileId" required>
        <label for="reassign-amount">Amount to move (empty: all of it)</label><input id="reassign-amount" name="amount" inputmode="decimal">
        <label for="reassign-reason">Reason</label><input id="reassign-reason" name="reason" required>
        <button type="submit">Move</button>
        </form></details>
        {{/canReassign}}
        {{#canVoid}}
        <details><summary>Void (entered by mistake)</summary>
        <form method="post" action="/console/payments/{{paymentId}}/void" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="void-reason">Reason</label><input id="void-reason" name="reason" required>
        <button type="submit" class="danger">Void the payment</button>
        </form></details>
        {{/canVoid}}
        {{#hasUnanswered}}
        <h2>Refunds asked that got no answer</h2>
        <p>Their money counts as paid back until the provider reports the refund. Look in the provider's dashboard:
        if the refund is there, the provider's report follows; if it is not, close the request and ask again.</p>
        <ul>{{#unanswered}}<li>{{amount}}, asked {{askedAt}}.
        {{#closable}}<form method="post" action="/console/payments/{{paymentId}}/refund-requests/{{requestPath}}/close" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="close-{{requestKey}}">How you found that no refund was made</label><input id="close-{{requestKey}}" name="reason" required maxlength="500">
        <button type="submit" class="danger">Close: the provider made no refund</button>
        </form>{{/closable}}
        {{^closable}}It can be closed from {{closableFrom}}. Within 20 hours of the request, asking for the same refund again sends it again, and the provider answers.{{/closable}}</li>{{/unanswered}}</ul>
        {{/hasUnanswered}}
        {{#canPayBack}}
        <details open><summary>Record the transfer that paid it back</summary>
        {{#hasPayBackLines}}
        <form method="post" action="/console/payments/{{paymentId}}/paid-back" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="payback-line">The transfer back, from an imported statement ({{payBackDue}} out)</label>
        <select id="payback-line" name="lineKey">{{#payBackLines}}<option value="{{lineKey}}">{{label}}</option>{{/payBackLines}}</select>
        <label for="payback-note">Note (optional)</label><input id="payback-note" name="note" maxlength="500">
        <button type="submit">Paid back by this transfer</button>
        </form>
        {{/hasPayBackLines}}
        {{^hasPayBackLines}}<p>No imported bank line sends {{payBackDue}} out yet. Send the money back from the bank account, import the statement that shows it, then come back here.</p>{{/hasPayBackLines}}
        </details>
        {{/canPayBack}}
        {{#paidBackOn}}
        <details><summary>The transfer back came back</summary>
        <p>{{paidBackOn}} If the payer's bank sent it back, the money is owed to the payer again: record the line that brought it back, then send it again.</p>
        {{#hasReturnLines}}
        <form method="post" action="/console/payments/{{paymentId}}/pay-back-returned" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="return-line">The money that came back, from an imported statement</label>
        <select id="return-line" name="lineKey">{{#returnLines}}<option value="{{lineKey}}">{{label}}</option>{{/returnLines}}</select>
        <label for="return-note">Note (optional)</label><input id="return-note" name="note" maxlength="500">
        <button type="submit">This is the transfer back, come back</button>
        </form>
        {{/hasReturnLines}}
        {{^hasReturnLines}}<p>No imported bank line brings that money in. Import the statement that shows it coming back, then come back here.</p>{{/hasReturnLines}}
        </details>
        {{/paidBackOn}}
        {{#canRefund}}
        <details><summary>Pay back through {{method}}</summary>
        <form method="post" action="/console/payments/{{paymentId}}/refund" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <input type="hidden" name="refundKey" value="{{refundKey}}">
        <label for="refund-amount">Amount in {{currency}} (empty: all of it)</label><input id="refund-amount" name="amount" inputmode="decimal">
        <button type="submit" class="danger">Pay back</button>
        </form></details>
        {{/canRefund}}
        </div>
        """

    static let listings = """
        <h1>Listings</h1>
        <nav aria-label="Listing views" class="tabs"><ul>
        {{#views}}<li><a href="/console/listings?view={{value}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>{{/views}}
        </ul></nav>
        {{^rows}}<p class="empty">No profile here.</p>{{/rows}}
        <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Paid through</th><th scope="col">Why</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td><a href="/console/profiles/{{profileId}}">{{displayName}}</a></td><td>{{status}}</td><td>{{paidThrough}}</td><td>{{why}}</td></tr>{{/rows}}
        </tbody>
        </table>
        <p class="pager">{{#previous}}<a href="{{previous}}">Previous</a>{{/previous}} {{#next}}<a href="{{next}}">Next</a>{{/next}}</p>
        """

    static let directory = """
        <h1>Directory</h1>
        <h2>Endpoints</h2>
        {{^endpoints}}<p class="empty">No directory endpoint is configured (<code>listing-ledger endpoints add</code>).</p>{{/endpoints}}
        <ul>{{#endpoints}}<li><code>{{url}}</code> — {{state}}</li>{{/endpoints}}</ul>
        <h2>Not delivered (dead letters)</h2>
        {{^dead}}<p class="empty">Every change reached the directory.</p>{{/dead}}
        <table>
        <thead><tr><th scope="col">Change</th><th scope="col">Profile</th><th scope="col">Last error</th><th scope="col">Action</th></tr></thead>
        <tbody>
        {{#dead}}<tr><td>{{id}}</td><td>{{profileId}}</td><td>{{error}}</td><td>
        <form method="post" action="/console/directory/deliveries/{{id}}/replay" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}"><button type="submit">Send again</button></form>
        </td></tr>{{/dead}}
        </tbody>
        </table>
        <p class="pager">{{#previous}}<a href="{{previous}}">Newer</a>{{/previous}} {{#next}}<a href="{{next}}">Older</a>{{/next}}</p>
        <h2>Recent deliveries</h2>
        {{^recent}}<p class="empty">Nothing delivered yet.</p>{{/recent}}
        <table>
        <thead><tr><th scope="col">Change</th><th scope="col">Profile</th><th scope="col">Delivered</th></tr></thead>
        <tbody>{{#recent}}<tr><td>{{id}}</td><td>{{profileId}}</td><td>{{at}}</td></tr>{{/recent}}</tbody>
        </table>
        """

    static let settings = """
        <h1>Settings</h1>
        <section aria-labelledby="users">
        <h2 id="users">Staff users</h2>
        <table>
        <thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">State</th></tr></thead>
        <tbody>{{#users}}<tr><td>{{name}}</td><td>{{email}}</td><td>{{state}}</td></tr>{{/users}}</tbody>
        </table>
        <details><summary>Add a user</summary>
        <form method="post" action="/console/settings/users" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="user-name">Name</label><input id="user-name" name="name" required>
        <label for="user-email">E-mail address</label><input id="user-email" name="email" type="email" required>
        <label for="user-password">First password (12 to 72 bytes; an accented letter counts two)</label><input id="user-password" name="password" type="password" minlength="12" maxlength="72" autocomplete="new-password" required>
        <button type="submit">Add the user</button>
        </form></details>
        </section>
        <section aria-labelledby="keys">
        <h2 id="keys">API keys</h2>
        {{#createdKey}}<p class="notice">The new key, shown only now — copy it to where it will be used: <code class="key">{{createdKey}}</code></p>{{/createdKey}}
        <table>
        <thead><tr><th scope="col">Name</th><th scope="col">For</th><th scope="col">Created</th><th scope="col">State</th></tr></thead>
        <tbody>{{#keys}}<tr><td>{{name}}</td><td>{{role}}</td><td>{{created}}</td><td>{{state}}{{#active}}
        <form method="post" action="/console/settings/keys/{{keyId}}/revoke" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}"><button type="submit" class="secondary">Revoke</button></form>{{/active}}</td></tr>{{/keys}}</tbody>
        </table>
        <details><summary>Create a key</summary>
        <form method="post" action="/console/settings/keys" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="formKey" value="{{formKey}}">
        <label for="key-name">Who will use it</label><input id="key-name" name="name" required>
        <label for="key-role">For</label>
        <select id="key-role" name="role"><option value="website">the website</option><option value="directory">the directory</option><option value="staff">staff tools</option></select>
        <button type="submit">Create the key</button>
        </form></details>
        </section>
        """
}
