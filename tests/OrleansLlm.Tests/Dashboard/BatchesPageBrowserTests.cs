using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using OllamaSim;
using OrleansLlm.Client;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace OrleansLlm.Tests.Dashboard;

/// <summary>
/// The batches page of two real silo processes, each beside its own simulator, in a real browser (Debian's chromium
/// through Playwright): a running batch's bar moves, and a finished batch's links serve its output and error files.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Browser")]
public sealed partial class BatchesPageBrowserTests(RedisServer redis, ITestOutputHelper output)
{
    // High priority, so it finishes first; one item lacks the field the prompt needs and is dead-lettered at once.
    private const string Finished = "mayors-top-20";
    private const string Malformed = "atlantis";
    // Normal priority: it runs for several seconds after the first one ended (20 answers a second at most).
    private const string Running = "mayors-top-300";
    private const int RunningItems = 300;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly List<string> _scriptErrors = [];

    [Fact]
    public async Task RunningBatchsBarMoves_FinishedBatchsLinksServeItsOutputAndErrorFiles()
    {
        var total = Stopwatch.StartNew();
        // Answers of about 0.2 s, two at a time on each silo.
        await using var browser = await BrowserOnTwoSilos.StartAsync(redis, () => new SimulatorOptions { Parallel = 2, TimeScale = 0.01 });
        var (pageSilo, fileSilo) = (browser.Silos[0], browser.Silos[1]);
        output.WriteLine($"two silo processes ready in {total.Elapsed.TotalSeconds:F1} s");

        await using var cluster = await ClusterConnection.ConnectAsync(new ClientSettings(redis.ConnectionString, browser.Queue, "orleansllm"), CancellationToken.None);
        var cities = await Cities.LoadAsync(RunningItems);
        var finishedItems = cities.Take(20).Append(new BatchItem(Malformed, """{"name":"Atlantis"}""")).ToArray();
        var submitter = new BatchSubmitter(cluster.Client);
        await submitter.SubmitAsync(Finished, new BatchSpec(null, null, Priority: BatchPriority.High), finishedItems.ToAsyncEnumerable(), CancellationToken.None);
        await submitter.SubmitAsync(Running, new BatchSpec(null, null), cities.ToAsyncEnumerable(), CancellationToken.None);
        output.WriteLine($"both batches submitted {total.Elapsed.TotalSeconds:F1} s after the start");

        var page = await (await browser.Chromium).NewPageAsync(_scriptErrors);
        var opened = await page.GotoAsync($"{BaseUrl(pageSilo)}/batches");
        // Nothing inline runs: a batch's text could not become script even if it reached the page as markup.
        Assert.Contains("script-src 'self'", await opened!.HeaderValueAsync("content-security-policy"));
        output.WriteLine($"page open {total.Elapsed.TotalSeconds:F1} s after the start");

        var seen = await BarMovesAsync(page);
        var progress = await cluster.Client.GetGrain<IBatchGrain>(Running).GetProgressAsync();
        Assert.True(progress.Done + progress.DeadLettered >= seen.Done + seen.Dead, $"the page showed no more than the batch grain has: {seen}, then {progress}");
        output.WriteLine($"the running batch's bar moved {total.Elapsed.TotalSeconds:F1} s after the start");

        var finished = Row(page, Finished);
        await Expect(finished.Locator("td.status")).ToHaveTextAsync("completed", new() { Timeout = (float)Deadline.TotalMilliseconds });
        // The CLI submitted it: it has no tenant (an API batch's is asserted in Api/ApiOperatorTests).
        await Expect(finished.Locator("td.tenant")).ToHaveTextAsync("—");
        var shown = await ReadRowAsync(page, Finished) ?? throw new Xunit.Sdk.XunitException($"{Finished} is no longer shown");
        var usage = await cluster.Client.GetGrain<IBatchGrain>(Finished).GetUsageAsync();
        output.WriteLine($"finished batch as shown: {shown}; usage {usage}");
        Assert.Equal((21L, 20L, 1L, 0L, 0L), (shown.Total, shown.Done, shown.Dead, shown.InFlight, shown.Queued));
        Assert.Equal(usage.TotalTokens, shown.Tokens);
        Assert.True(usage.TotalTokens > 0, "the simulator counts tokens");
        Assert.Equal("—", shown.Eta);
        // Newest first: the running batch was created last.
        Assert.Equal([Running, Finished], await page.Locator("tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.batch)"));

        // The picture README shows: a batch finished, with a dead letter, and one running.
        var screenshot = Path.Combine(RepoPaths.Root, "docs", "images", "batches.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        // As tall as the page's content: a full page is at least the window's height.
        await page.SetViewportSizeAsync(1280, 200);
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot: {screenshot}");

        // The links, fetched from the other silo: any silo serves any batch's files.
        using var http = new HttpClient { BaseAddress = new Uri(BaseUrl(fileSilo)), Timeout = TimeSpan.FromSeconds(30) };
        await OutputFileHasOneLinePerResultAsync(http, await finished.Locator("a.output").GetAttributeAsync("href"), finishedItems[..^1]);
        await ErrorFileHasTheDeadLetterAsync(http, await finished.Locator("a.errors").GetAttributeAsync("href"));
        await TableIsPagedAsync(http);

        Assert.True(_scriptErrors.Count == 0, $"script errors on the batches page:\n{string.Join("\n", _scriptErrors)}");
        output.WriteLine($"whole test {total.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>The running batch's done share grows between two of the page's refreshes, its figures adding up each time.</summary>
    /// <returns>The last row seen.</returns>
    private async Task<ShownRow> BarMovesAsync(IPage page)
    {
        ShownRow? first = null, last = null;
        await Eventually.TrueAsync(async () =>
        {
            last = await ReadRowAsync(page, Running);
            if (last is null || last.Status != "in_progress" || last.Done == 0)
            {
                return false;
            }

            Consistent(last);
            first ??= last;
            return last.DoneShare > first.DoneShare;
        }, $"the bar of {Running} to grow between two refreshes", Deadline, () => Task.FromResult($"first {first}, last {last}"));

        output.WriteLine($"running batch: {first} then {last}");
        Assert.True(last!.Done > first!.Done, "the done count grew with the bar");
        // The page saw the batch move, so it knows a rate, and something is left.
        Assert.Matches(EtaPattern(), last.Eta);
        return last;
    }

    // The four parts add up to the total, and the done part's width is the done share.
    private static void Consistent(ShownRow row)
    {
        Assert.Equal(RunningItems, row.Total);
        Assert.Equal(row.Total, row.Done + row.Dead + row.InFlight + row.Queued);
        Assert.InRange(row.DoneShare, (double)row.Done / row.Total - 0.001, (double)row.Done / row.Total + 0.001);
    }

    private async Task OutputFileHasOneLinePerResultAsync(HttpClient http, string? href, IReadOnlyList<BatchItem> items)
    {
        Assert.Equal($"/batches/{Finished}/output.jsonl", href);
        using var response = await http.GetAsync(href);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        output.WriteLine($"output file: {lines.Length} lines, the first {lines[0]}");
        var ids = new List<string>();
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            Assert.StartsWith("batch_req_", root.GetProperty("id").GetString());
            Assert.Equal(200, root.GetProperty("response").GetProperty("status_code").GetInt32());
            var body = root.GetProperty("response").GetProperty("body");
            Assert.Equal("text_completion", body.GetProperty("object").GetString());
            // The prompt asks for nothing when the model does not know, so an answer may be empty, but it is there.
            Assert.Equal(JsonValueKind.String, body.GetProperty("choices")[0].GetProperty("text").ValueKind);
            Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
            ids.Add(root.GetProperty("custom_id").GetString()!);
        }

        Assert.Equal(items.Select(i => i.Id).Order(), ids.Order());
    }

    private async Task ErrorFileHasTheDeadLetterAsync(HttpClient http, string? href)
    {
        Assert.Equal($"/batches/{Finished}/errors.jsonl", href);
        var text = await http.GetStringAsync(href);
        output.WriteLine($"error file: {text.Trim()}");
        var line = Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var doc = JsonDocument.Parse(line);
        Assert.Equal(Malformed, doc.RootElement.GetProperty("custom_id").GetString());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("response").ValueKind);
        Assert.Equal("invalid_item", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>The table's JSON a page at a time, newest first, and its one-line refusals.</summary>
    private static async Task TableIsPagedAsync(HttpClient http)
    {
        using var first = JsonDocument.Parse(await http.GetStringAsync("/batches/table?limit=1"));
        Assert.Equal(Running, first.RootElement.GetProperty("batches")[0].GetProperty("id").GetString());
        Assert.Equal(2, first.RootElement.GetProperty("total").GetInt64());
        Assert.Equal(Running, first.RootElement.GetProperty("nextCursor").GetString());
        using var second = JsonDocument.Parse(await http.GetStringAsync($"/batches/table?limit=1&after={Running}"));
        Assert.Equal(Finished, second.RootElement.GetProperty("batches")[0].GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("nextCursor").ValueKind);

        (string Query, string Says)[] refusals = [("limit=0", "limit must be"), ("after=%3Cb%3E", "after must be a batch id"), ("after=gone", "'gone' is not a listed batch")];
        foreach (var (query, says) in refusals)
        {
            using var refused = await http.GetAsync($"/batches/table?{query}");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(says, await refused.Content.ReadAsStringAsync());
        }

        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/batches/gone/output.jsonl")).StatusCode);
    }

    private static string BaseUrl(SiloProcess silo) => $"http://127.0.0.1:{silo.HttpPort}";

    private static ILocator Row(IPage page, string batchId) => page.Locator($"tr[data-batch='{batchId}']");

    /// <summary>One row as the page shows it, read in one go so its parts belong to the same refresh; null before it is shown.</summary>
    private static async Task<ShownRow?> ReadRowAsync(IPage page, string batchId)
    {
        var json = await page.EvaluateAsync<string?>(
            """
            id => {
              const row = [...document.querySelectorAll('tbody tr')].find(r => r.dataset.batch === id);
              if (!row) return null;
              const bar = row.querySelector('.bar');
              const cell = name => row.querySelector('td.' + name).firstChild.textContent;
              return JSON.stringify({
                status: row.querySelector('td.status').dataset.status,
                total: +bar.dataset.total, done: +bar.dataset.done, dead: +bar.dataset.dead,
                inFlight: +bar.dataset.inflight, queued: +bar.dataset.queued,
                doneShare: parseFloat(bar.querySelector('.done').style.width) / 100,
                tokens: +cell('tokens').replace(/,/g, ''),
                eta: cell('eta'),
              });
            }
            """, batchId);
        return json is null ? null : JsonSerializer.Deserialize<ShownRow>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web));
    }

    [GeneratedRegex(@"^(\d+s|\d+m \d\ds|\d+h \d\dm)$")]
    private static partial Regex EtaPattern();

    private sealed record ShownRow(string Status, long Total, long Done, long Dead, long InFlight, long Queued, double DoneShare, long Tokens, string Eta);
}
