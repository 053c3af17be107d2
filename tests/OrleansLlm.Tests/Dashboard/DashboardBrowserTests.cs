using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using OllamaSim;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace OrleansLlm.Tests.Dashboard;

/// <summary>
/// The Orleans Dashboard of two real silo processes, each beside its own simulator, looked at in a real browser
/// (Debian's chromium through Playwright) while both workers are busy.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Browser")]
public sealed class DashboardBrowserTests(RedisServer redis, ITestOutputHelper output)
{
    private const string WorkerGrain = "OrleansLlm.Worker.WorkerGrain";
    private const string CoordinatorGrain = "OrleansLlm.Coordinator.CoordinatorGrain";

    // The dashboard polls its silos every second; rendering a fresh value can take a few rounds on a loaded machine.
    private const float RenderTimeoutMs = 30_000;

    private readonly List<string> _scriptErrors = [];

    [Fact]
    public async Task ShowsBothSilosTheirWorkersAndTheCoordinator_WhileTwoSilosAreBusy()
    {
        var total = Stopwatch.StartNew();
        // Answers slow enough (about a second with two in flight) that 400 items keep both workers busy throughout.
        await using var browser = await BrowserOnTwoSilos.StartAsync(redis, () => new SimulatorOptions { Parallel = 2, TimeScale = 0.05 });
        var silos = browser.Silos;
        output.WriteLine($"two silo processes ready in {total.Elapsed.TotalSeconds:F1} s");

        var cities = await Cities.LoadAsync(400);
        await redis.Connection.GetDatabase().ListRightPushAsync(browser.Keys.Ready, cities.Select(c => (StackExchange.Redis.RedisValue)c.Json).ToArray());
        var addresses = new string[silos.Count];
        for (var i = 0; i < silos.Count; i++)
        {
            var silo = silos[i];
            string? owner = null;
            await Eventually.TrueAsync(async () => (owner = await LeaseOwnerAsync(browser.Keys, silo)) is not null, $"the silo on port {silo.SiloPort} to lease items");
            addresses[i] = owner!;
        }

        var chromium = await browser.Chromium;
        var browserClock = Stopwatch.StartNew();
        var page = await chromium.NewPageAsync(_scriptErrors);
        output.WriteLine($"chromium ready {total.Elapsed.TotalSeconds:F1} s after the start");

        // Every silo serves the dashboard, and each one shows the whole cluster.
        foreach (var silo in silos)
        {
            await page.GotoAsync(DashboardUrl(silo, "silos"));
            foreach (var address in addresses)
            {
                await Expect(HostRow(page, $"='#/host/{address}'")).ToContainTextAsync("Active", new() { Timeout = RenderTimeoutMs });
            }

            await Expect(HostRow(page, "^='#/host/'")).ToHaveCountAsync(addresses.Length, new() { Timeout = RenderTimeoutMs });
        }

        output.WriteLine($"both silos listed on both dashboards {browserClock.Elapsed.TotalSeconds:F1} s after the launch");

        var dashboard = silos[^1];
        await page.GotoAsync(DashboardUrl(dashboard, "grains"));
        await Expect(ActivationsOf(page, WorkerGrain)).ToHaveTextAsync("2", new() { Timeout = RenderTimeoutMs });
        await Expect(ActivationsOf(page, CoordinatorGrain)).ToHaveTextAsync("1", new() { Timeout = RenderTimeoutMs });

        // The worker's own placement, as the dashboard sees it: one on each silo.
        foreach (var address in addresses)
        {
            await page.GotoAsync(DashboardUrl(dashboard, $"host/{address}"));
            await Expect(ActivationsOf(page, WorkerGrain)).ToHaveTextAsync("1", new() { Timeout = RenderTimeoutMs });
        }

        // What the dashboard shows about a worker itself, through IWorkerDashboardGrain.GetState.
        await page.GotoAsync(DashboardUrl(dashboard, "grainDetails"));
        await page.Locator("select").SelectOptionAsync(WorkerGrain, new() { Timeout = RenderTimeoutMs });
        foreach (var address in addresses)
        {
            await page.GetByPlaceholder("Grain Id").FillAsync(address);
            var state = await BusyWorkerStateAsync(page, address);
            output.WriteLine($"Grain Details of the worker on {address}: {state}");
            Assert.Equal("active", state.GetProperty("State").GetString());
            Assert.Equal(2, state.GetProperty("ConcurrencyLimit").GetInt32());
            Assert.InRange(state.GetProperty("InFlight").GetInt32(), 1, 2);
            Assert.Equal(address, state.GetProperty("Silo").GetString());
        }

        // The picture README shows: every grain type, with the two workers and the coordinator among them.
        await page.GotoAsync(DashboardUrl(dashboard, "grains"));
        await Expect(ActivationsOf(page, WorkerGrain)).ToHaveTextAsync("2", new() { Timeout = RenderTimeoutMs });
        var screenshot = Path.Combine(RepoPaths.Root, "docs", "images", "dashboard.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        output.WriteLine($"screenshot: {screenshot}");

        var (upstream, ours) = SplitUpstreamChartRace(_scriptErrors);
        foreach (var error in upstream)
        {
            output.WriteLine($"the dashboard's own chart race (Orleans.Dashboard, not ours), left out: {error}");
        }

        Assert.True(ours.Length == 0, $"script errors on the dashboard:\n{string.Join("\n", ours)}");
        output.WriteLine($"browser part {browserClock.Elapsed.TotalSeconds:F1} s, whole test {total.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// Orleans.Dashboard 10.4.2's chart widget (<c>multi-series-chart-widget.tsx</c>, <c>renderChart</c>) maps
    /// <c>this.props.series[0]</c> without a guard, so a chart drawn before the silo's history arrived throws in the
    /// dashboard's own bundle; it broke one CI run on a loaded machine (2026-12-07). That one error is the
    /// dashboard's, not this project's: it is reported in the output and left out of the check; any other fails it.
    /// </summary>
    private static (string[] Upstream, string[] Ours) SplitUpstreamChartRace(IReadOnlyCollection<string> errors)
    {
        static bool IsChartRace(string error) =>
            error.Contains("renderChart", StringComparison.Ordinal) && error.Contains("'map'", StringComparison.Ordinal);

        lock (errors)
        {
            return (errors.Where(IsChartRace).ToArray(), errors.Where(e => !IsChartRace(e)).ToArray());
        }
    }

    private static string DashboardUrl(SiloProcess silo, string route) => $"http://127.0.0.1:{silo.HttpPort}/dashboard/#/{route}";

    // A row of the silos table (the zone grid above it links to the silos too, outside any table cell of its own).
    private static ILocator HostRow(IPage page, string hrefMatch) => page.Locator($"tr:has(> td > a[href{hrefMatch}])");

    // The "Activations" cell of a grain type's row in an "Activations by Type" table.
    private static ILocator ActivationsOf(IPage page, string grainType) =>
        page.Locator($"tr:has(> td > a[href='#/grain/{grainType}'])").Locator("td").Nth(2);

    private async Task<string?> LeaseOwnerAsync(OrleansLlm.Queue.QueueKeys keys, SiloProcess silo) =>
        (await redis.Connection.GetDatabase().HashValuesAsync(keys.Owners)).Select(o => (string?)o).FirstOrDefault(o => o is not null && silo.Owns(o));

    // Grain Details shows one snapshot per click; between two answers a worker can have nothing in flight for a moment.
    private static async Task<JsonElement> BusyWorkerStateAsync(IPage page, string address)
    {
        var shown = page.Locator("pre");
        JsonElement state = default;
        var last = "nothing";
        await Eventually.TrueAsync(async () =>
        {
            await page.Locator("input[value='Show Details']").ClickAsync();
            await Expect(shown).ToContainTextAsync(address, new() { Timeout = RenderTimeoutMs });
            last = await shown.InnerTextAsync();
            using var shownJson = JsonDocument.Parse(last);
            state = shownJson.RootElement.TryGetProperty("GetState", out var found)
                ? found.Clone()
                : throw new Xunit.Sdk.XunitException($"Grain Details showed no GetState for the worker on {address}: {last}");
            return state.GetProperty("InFlight").GetInt32() > 0;
        }, $"Grain Details to show the worker on {address} with items in flight", TimeSpan.FromSeconds(30), () => Task.FromResult(last));
        return state;
    }
}
