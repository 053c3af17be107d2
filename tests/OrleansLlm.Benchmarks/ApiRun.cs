using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OllamaSim;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;
using OrleansLlm.Benchmarks.Infrastructure;

#pragma warning disable OPENAI001 // The SDK marks its batch client experimental.

namespace OrleansLlm.Benchmarks;

/// <summary>
/// The api scenario: the data set as an OpenAI batch input file (a chat request per row, custom_id by line, since a few
/// rows share a city id) through the official OpenAI .NET SDK, given nothing but an endpoint and a key, against two
/// real silo processes, each beside its own simulator: upload, create, poll to completed, download, every custom_id once.
/// </summary>
/// <remarks>
/// The silos run at a fixed concurrency, their simulator's slots (<c>--d-max-concurrency</c>): what is measured is the
/// API's path, not the controller. Silo processes, not in-process silos, so that their memory is their own.
/// </remarks>
public sealed class ApiRun(RedisProcess redis, Workload workload, BenchmarkOptions options, TextWriter log)
{
    public static readonly TimeSpan RssInterval = TimeSpan.FromMilliseconds(10);
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private const string Model = "qwen2:1.5b";

    public async Task<ApiResult> RunAsync(Scenario scenario, CancellationToken cancellationToken)
    {
        var spec = new BackendSpec(options.DMaxConcurrency, 1);
        var ideal = (scenario with { Backends = [spec, spec] }).IdealSeconds(workload.TotalSoloSeconds, workload.Count, options.TimeScale, options.ScalingExponent);
        var load = MachineInfo.LoadAverage();
        var simulators = new List<SimulatorServer>();
        var silos = new List<SiloProcess>();
        try
        {
            var key = $"sk-bench-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}";
            var settings = Settings(key, $"bench-api-{Guid.NewGuid():N}"[..30]);
            var clock = Stopwatch.StartNew();
            // One after the other, so a silo that fails to start leaves nothing running that the finally can't see.
            for (var i = 0; i < 2; i++)
            {
                simulators.Add(await Backends.StartOneAsync(spec, options, cancellationToken));
                silos.Add(await SiloProcess.StartAsync(new Dictionary<string, string>(settings) { ["Ollama:Url"] = simulators[i].Url.ToString() }, cancellationToken));
            }

            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[api] 2 silo processes ready in {clock.Elapsed.TotalSeconds:0.0} s (logs: {string.Join(", ", silos.Select(s => s.LogFile))})"));
            var clients = silos.Select(s => new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri($"http://127.0.0.1:{s.ApiPort}/v1") })).ToArray();
            var result = await MeasureAsync(clients, silos, ideal, load, cancellationToken);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[api] {result.Lines:N0} lines: upload {result.UploadSeconds:0.00} s, validation {result.ValidationSeconds:0.0} s, makespan {result.MakespanSeconds:0.0} s " +
                $"(ideal {ideal:0.0} s), download {result.OutputBytes / 1048576.0:0.0} MiB in {result.DownloadSeconds:0.00} s, missing {result.Missing}, duplicated {result.Duplicated}, not 200 {result.NotOk}; " +
                $"serving silo VmRSS {Mib(result.RssBeforeDownload)} → peak {Mib(result.RssPeakDownload)}, VmHWM {string.Join(" / ", result.PeakRss.Select(Mib))}"));
            return result;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            log.WriteLine($"[api] FAILED: {ex}");
            return ApiResult.Failure(workload.Count, options.TimeScale, options.DMaxConcurrency, ideal, load, ex.GetType().Name + ": " + ex.Message);
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }

            foreach (var simulator in simulators)
            {
                await simulator.DisposeAsync();
            }

            await redis.FlushAsync();
        }
    }

    private async Task<ApiResult> MeasureAsync(OpenAIClient[] clients, List<SiloProcess> silos, double ideal, string load, CancellationToken cancellationToken)
    {
        var (input, ids) = InputFile();
        var clock = Stopwatch.StartNew();
        OpenAIFile file;
        using (var stream = new MemoryStream(input))
        {
            file = (await clients[0].GetOpenAIFileClient().UploadFileAsync(stream, "worldcities.jsonl", FileUploadPurpose.Batch, cancellationToken)).Value;
        }

        var upload = clock.Elapsed.TotalSeconds;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[api] uploaded {input.Length / 1048576.0:0.0} MiB ({ids.Count:N0} lines) in {upload:0.00} s"));

        // Created on one silo, followed on both: any silo answers for any batch.
        var body = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = file.Id, endpoint = "/v1/chat/completions", completion_window = "24h" }));
        clock.Restart();
        var operation = await clients[1].GetBatchClient().CreateBatchAsync(body, waitUntilCompleted: false, new RequestOptions { CancellationToken = cancellationToken });
        var timeout = TimeSpan.FromSeconds(ideal * options.TimeoutFactor) + options.TimeoutSlack;
        var (batch, validation, makespan) = await PollAsync(clients.Select(c => c.GetBatchClient()).ToArray(), operation.BatchId, clock, timeout, cancellationToken);
        if (batch.GetProperty("status").GetString() != "completed")
        {
            throw new InvalidOperationException($"the batch ended {batch.GetProperty("status")}: {batch}");
        }

        var serverMakespan = batch.GetProperty("completed_at").GetInt64() - batch.GetProperty("created_at").GetInt64();
        var (download, output, before, peak) = await DownloadAsync(clients[0], silos[0], batch.GetProperty("output_file_id").GetString()!, cancellationToken);
        var (lines, missing, duplicated, notOk) = Check(output, ids);
        return new ApiResult(
            ids.Count, input.Length, options.TimeScale, options.DMaxConcurrency, ideal, upload, validation, makespan, serverMakespan,
            download, output.ToMemory().Length, lines, missing, duplicated, notOk, before, peak, silos.Select(s => s.Memory("VmHWM")).ToArray(),
            $"{load} at the start, {MachineInfo.LoadAverage()} at the end");
    }

    /// <summary>Asks each silo in turn for the batch until it ends; notes when it was first seen past <c>validating</c>.</summary>
    private async Task<(JsonElement Batch, double Validation, double Makespan)> PollAsync(
        BatchClient[] batches, string batchId, Stopwatch clock, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var validation = double.NaN;
        var nextReport = TimeSpan.FromSeconds(10);
        for (var turn = 0; ; turn++)
        {
            var answer = await batches[turn % batches.Length].GetBatchAsync(batchId, new RequestOptions { CancellationToken = cancellationToken });
            using var doc = JsonDocument.Parse(answer.GetRawResponse().Content);
            var status = doc.RootElement.GetProperty("status").GetString();
            if (double.IsNaN(validation) && status != "validating")
            {
                validation = clock.Elapsed.TotalSeconds;
            }

            if (status is "completed" or "failed" or "expired" or "cancelled")
            {
                return (doc.RootElement.Clone(), validation, clock.Elapsed.TotalSeconds);
            }

            var counts = doc.RootElement.GetProperty("request_counts");
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the batch is still {status} after {timeout.TotalSeconds:0} s: {counts}");
            }

            if (clock.Elapsed > nextReport)
            {
                log.WriteLine($"[api] {status}, {counts.GetProperty("completed")}/{counts.GetProperty("total")} after {clock.Elapsed.TotalSeconds:0} s");
                nextReport += TimeSpan.FromSeconds(10);
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>Downloads the output file from <paramref name="silo"/>, reading its VmRSS every <see cref="RssInterval"/> while it serves it.</summary>
    private static async Task<(double Seconds, BinaryData Output, long RssBefore, long RssPeak)> DownloadAsync(
        OpenAIClient client, SiloProcess silo, string fileId, CancellationToken cancellationToken)
    {
        var before = silo.Memory();
        using var serving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var peak = PeakRssAsync(silo, serving.Token);
        var clock = Stopwatch.StartNew();
        var output = (await client.GetOpenAIFileClient().DownloadFileAsync(fileId, cancellationToken)).Value;
        var seconds = clock.Elapsed.TotalSeconds;
        await serving.CancelAsync();
        return (seconds, output, before, await peak);
    }

    private static async Task<long> PeakRssAsync(SiloProcess silo, CancellationToken stop)
    {
        var peak = 0L;
        using var timer = new PeriodicTimer(RssInterval);
        try
        {
            do
            {
                peak = Math.Max(peak, silo.Memory());
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
            // The download is over.
        }

        return peak;
    }

    /// <summary>Output lines, input custom_ids without a line, lines of a custom_id already seen, and lines whose status is not 200.</summary>
    private static (int Lines, int Missing, int Duplicated, int NotOk) Check(BinaryData output, IReadOnlyList<string> ids)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var (lines, duplicated, notOk) = (0, 0, 0);
        foreach (var line in output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            lines++;
            duplicated += seen.Add(doc.RootElement.GetProperty("custom_id").GetString()!) ? 0 : 1;
            notOk += doc.RootElement.GetProperty("response").GetProperty("status_code").GetInt32() == 200 ? 0 : 1;
        }

        return (lines, ids.Count(id => !seen.Contains(id)), duplicated, notOk);
    }

    /// <summary>Every row as a chat request of the prompt the other scenarios send, custom_id <c>line-N</c>.</summary>
    private (byte[] File, IReadOnlyList<string> Ids) InputFile()
    {
        var text = new StringBuilder();
        var ids = new List<string>(workload.Count);
        foreach (var item in workload.Items)
        {
            var id = $"line-{ids.Count + 1}";
            ids.Add(id);
            var line = new JsonObject
            {
                ["custom_id"] = id,
                ["method"] = "POST",
                ["url"] = "/v1/chat/completions",
                ["body"] = new JsonObject
                {
                    ["model"] = Model,
                    ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = item.Prompt }),
                },
            };
            text.Append(line.ToJsonString()).Append('\n');
        }

        return (Encoding.UTF8.GetBytes(text.ToString()), ids);
    }

    private Dictionary<string, string> Settings(string key, string queue) => new()
    {
        ["Redis:ConnectionString"] = redis.ConnectionString,
        ["Orleans:ClusterId"] = queue,
        ["Queue:Name"] = queue,
        ["Worker:AdaptiveConcurrency"] = "false",
        ["Worker:MaxConcurrency"] = options.DMaxConcurrency.ToString(CultureInfo.InvariantCulture),
        ["Api:Keys:0:Tenant"] = "bench",
        ["Api:Keys:0:Sha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))),
    };

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0} MiB");
}
