using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package, as <c>.ci/run</c> installs it) on a free loopback
/// port with a data directory of its own, scraping the given targets every second; killed on dispose.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";
    public const string JobName = "orleansllm";

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        Directory = directory;
        Url = new Uri($"http://127.0.0.1:{port}/");
        _http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri Url { get; }

    /// <summary>Its configuration and data.</summary>
    public string Directory { get; }

    /// <summary>What Prometheus logged so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts Prometheus scraping <c>/metrics</c> of each target (<c>host:port</c>) every second, and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyList<string> targets)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: install Debian's prometheus package, as .ci/run does (apt-get install prometheus).");
        }

        var directory = Path.Combine(Path.GetTempPath(), "orleansllm-prometheus-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: {JobName}
                metrics_path: /metrics
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"'{t}'"))}]
            """);

        var port = FreePorts.Next();
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
        {
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--web.console.templates=/etc/prometheus/consoles",
            "--web.console.libraries=/etc/prometheus/console_libraries",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start");
        var server = new PrometheusServer(process, directory, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Eventually.TrueAsync(async () => process.HasExited
                    ? throw new InvalidOperationException($"prometheus exited with {process.ExitCode}: {server.Log}")
                    : await server.IsReadyAsync(),
                $"prometheus on port {port} to be ready", TimeSpan.FromSeconds(30), () => Task.FromResult(server.Log));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>An instant query through the HTTP API: each series' labels and value.</summary>
    /// <exception cref="InvalidOperationException">Prometheus rejected the query.</exception>
    public async Task<IReadOnlyList<PromSample>> QueryAsync(string promQl)
    {
        using var response = await _http.GetAsync($"api/v1/query?query={Uri.EscapeDataString(promQl)}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"Prometheus rejected '{promQl}': {body}");
        }

        var data = body.GetProperty("data");
        return data.GetProperty("resultType").GetString() switch
        {
            "vector" => data.GetProperty("result").EnumerateArray().Select(PromSample.From).ToArray(),
            "scalar" => [new PromSample(new Dictionary<string, string>(), ParseValue(data.GetProperty("result")))],
            var other => throw new InvalidOperationException($"'{promQl}' gave a {other}, not an instant vector"),
        };
    }

    /// <summary>The value of a query that yields one series, or null while it yields none.</summary>
    public async Task<double?> ScalarAsync(string promQl) => (await QueryAsync(promQl)) switch
    {
        [] => null,
        [var one] => one.Value,
        var many => throw new InvalidOperationException($"'{promQl}' gave {many.Count} series, not one"),
    };

    /// <summary>The names of every metric Prometheus has stored.</summary>
    public async Task<IReadOnlySet<string>> MetricNamesAsync()
    {
        var body = await _http.GetFromJsonAsync<JsonElement>("api/v1/label/__name__/values");
        return body.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The health of each scrape target as Prometheus last saw it (<c>up</c>, <c>down</c>, <c>unknown</c>).</summary>
    public async Task<IReadOnlyDictionary<string, string>> TargetHealthAsync()
    {
        var body = await _http.GetFromJsonAsync<JsonElement>("api/v1/targets");
        return body.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .ToDictionary(t => t.GetProperty("scrapeUrl").GetString()!, t => t.GetProperty("health").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _http.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temp directory is cleaned up by the system.
        }
    }

    internal static double ParseValue(JsonElement pair) => double.Parse(pair[1].GetString()!, CultureInfo.InvariantCulture);

    private async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await _http.GetAsync("-/ready");
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
