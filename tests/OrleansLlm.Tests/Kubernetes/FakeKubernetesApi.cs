using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Kubernetes;

/// <summary>A request the fake API received.</summary>
public sealed record ApiRequest(DateTimeOffset At, string Method, string Path, string Query, string? ContentType, string? Authorization, string Body, int Status);

/// <summary>
/// The few pod endpoints of the Kubernetes API that Orleans' Kubernetes hosting and the pod deletion cost use, served
/// over real HTTP by Kestrel: get, list (with label selectors), watch, merge patch and delete, in one namespace. It
/// answers like the API server (Status objects, 404, 401, 415, 422 for a bad deletion cost) and records every request.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    public const string DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost";

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, JsonObject> _pods = new(StringComparer.Ordinal);
    private readonly List<ApiRequest> _requests = [];
    private readonly List<(string Selector, Channel<string> Events)> _watchers = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<string> _files = [];
    private long _resourceVersion = 1;
    private int _failNextPatches;

    private FakeKubernetesApi(WebApplication app, string ns, string token, Uri url)
    {
        _app = app;
        Namespace = ns;
        Token = token;
        Url = url;
    }

    public string Namespace { get; }

    public string Token { get; }

    public Uri Url { get; }

    public static async Task<FakeKubernetesApi> StartAsync(string ns)
    {
        var url = new Uri($"http://127.0.0.1:{FreePorts.Next()}");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url.ToString());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var api = new FakeKubernetesApi(app, ns, "token-" + Guid.NewGuid().ToString("N")[..8], url);
        app.Run(api.HandleAsync);
        await app.StartAsync();
        return api;
    }

    /// <summary>Writes a kubeconfig that reaches this API with its bearer token (for <c>Kubernetes:ConfigFile</c>); deleted with the API.</summary>
    public string WriteKubeConfig()
    {
        var path = Path.Combine(Path.GetTempPath(), $"orleansllm-kubeconfig-{Guid.NewGuid():N}.yaml");
        _files.Add(path);
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: {Url.ToString().TrimEnd('/')}
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
                namespace: {Namespace}
            current-context: fake
            users:
            - name: fake
              user:
                token: {Token}
            """);
        return path;
    }

    public void AddPod(string name, IReadOnlyDictionary<string, string>? labels = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = Namespace,
                ["uid"] = Guid.NewGuid().ToString(),
                ["labels"] = new JsonObject((labels ?? new Dictionary<string, string>()).Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
                ["annotations"] = new JsonObject((annotations ?? new Dictionary<string, string>()).Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))),
            },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "silo", ["image"] = "orleansllm-silo" }) },
            ["status"] = new JsonObject { ["phase"] = "Running", ["podIP"] = "127.0.0.1" },
        };
        lock (_gate)
        {
            Stamp(pod);
            _pods[name] = pod;
            Notify("ADDED", pod);
        }
    }

    /// <summary>Deletes a pod as the ReplicaSet would, telling the watchers.</summary>
    public void DeletePod(string name)
    {
        lock (_gate)
        {
            if (_pods.Remove(name, out var pod))
            {
                Stamp(pod);
                Notify("DELETED", pod);
            }
        }
    }

    /// <summary>The next <paramref name="count"/> patches fail with HTTP 500, as an overloaded API server may answer.</summary>
    public void FailNextPatches(int count) => Interlocked.Exchange(ref _failNextPatches, count);

    public IReadOnlyList<ApiRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return _requests.ToArray();
            }
        }
    }

    public IReadOnlyList<ApiRequest> Patches => Requests.Where(r => r.Method == HttpMethods.Patch).ToArray();

    public string? Annotation(string pod, string key)
    {
        lock (_gate)
        {
            return _pods.TryGetValue(pod, out var p) ? p["metadata"]?["annotations"]?[key]?.GetValue<string>() : null;
        }
    }

    public string? Label(string pod, string key)
    {
        lock (_gate)
        {
            return _pods.TryGetValue(pod, out var p) ? p["metadata"]?["labels"]?[key]?.GetValue<string>() : null;
        }
    }

    public string PodPath(string pod) => $"/api/v1/namespaces/{Namespace}/pods/{pod}";

    public string Describe() =>
        string.Join("; ", Requests.TakeLast(12).Select(r => $"{r.Method} {r.Path}{r.Query} {r.Status} {r.Body}"));

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        lock (_gate)
        {
            foreach (var (_, events) in _watchers)
            {
                events.Writer.TryComplete();
            }
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
        foreach (var file in _files)
        {
            File.Delete(file);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var (status, response) = request.Headers.Authorization.ToString() == $"Bearer {Token}"
            ? Route(context, body)
            : (StatusCodes.Status401Unauthorized, Status(401, "Unauthorized", "Unauthorized"));
        lock (_gate)
        {
            _requests.Add(new ApiRequest(DateTimeOffset.UtcNow, request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "",
                request.ContentType, request.Headers.Authorization.ToString(), body, status));
        }

        if (response is WatchResponse watch)
        {
            await StreamAsync(context, watch);
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(((JsonNode)response).ToJsonString(), context.RequestAborted);
    }

    private (int Status, object Response) Route(HttpContext context, string body)
    {
        var segments = (context.Request.Path.Value ?? "").Trim('/').Split('/');
        if (segments is not ["api", "v1", "namespaces", var ns, "pods", ..] || segments.Length > 6)
        {
            return (404, Status(404, "NotFound", "the server could not find the requested resource"));
        }

        var method = context.Request.Method;
        if (segments.Length == 5 && HttpMethods.IsGet(method))
        {
            var selector = context.Request.Query["labelSelector"].ToString();
            return context.Request.Query["watch"] == "true" || context.Request.Query["watch"] == "1"
                ? (200, new WatchResponse(ns, selector))
                : (200, List(ns, selector));
        }

        if (segments.Length != 6)
        {
            return (405, Status(405, "MethodNotAllowed", $"{method} is not supported on the pods collection"));
        }

        var name = segments[5];
        lock (_gate)
        {
            if (ns != Namespace || !_pods.TryGetValue(name, out var pod))
            {
                return (404, Status(404, "NotFound", $"pods \"{name}\" not found", name));
            }

            if (HttpMethods.IsGet(method))
            {
                return (200, pod.DeepClone());
            }

            if (HttpMethods.IsDelete(method))
            {
                _pods.Remove(name);
                Stamp(pod);
                Notify("DELETED", pod);
                return (200, pod.DeepClone());
            }

            if (HttpMethods.IsPatch(method))
            {
                return Patch(context.Request.ContentType, body, pod);
            }
        }

        return (405, Status(405, "MethodNotAllowed", $"{method} is not supported"));
    }

    // Called under the lock.
    private (int, object) Patch(string? contentType, string body, JsonObject pod)
    {
        if (Interlocked.Decrement(ref _failNextPatches) >= 0)
        {
            return (500, Status(500, "InternalError", "etcdserver: request timed out"));
        }

        var mediaType = contentType?.Split(';')[0].Trim();
        if (mediaType is not ("application/merge-patch+json" or "application/strategic-merge-patch+json"))
        {
            return (415, Status(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got {contentType})"));
        }

        JsonNode? patch;
        try
        {
            patch = JsonNode.Parse(body);
        }
        catch (JsonException ex)
        {
            return (400, Status(400, "BadRequest", $"error decoding patch: {ex.Message}"));
        }

        if (patch is not JsonObject)
        {
            return (400, Status(400, "BadRequest", "a merge patch must be a JSON object"));
        }

        var patched = (JsonObject)MergePatch(pod.DeepClone(), patch)!;
        var cost = patched["metadata"]?["annotations"]?[DeletionCostAnnotation];
        if (cost is not null && (cost.GetValueKind() != JsonValueKind.String || !int.TryParse(cost.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
        {
            return (422, Status(422, "Invalid", $"metadata.annotations[{DeletionCostAnnotation}]: Invalid value: {cost.ToJsonString()}: must be a 32bit integer"));
        }

        var name = pod["metadata"]!["name"]!.GetValue<string>();
        Stamp(patched);
        _pods[name] = patched;
        Notify("MODIFIED", patched);
        return (200, patched.DeepClone());
    }

    // RFC 7386.
    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject ?? [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                var merged = MergePatch(result[key]?.DeepClone(), value);
                result[key] = merged;
            }
        }

        return result;
    }

    private JsonObject List(string ns, string selector)
    {
        lock (_gate)
        {
            var items = new JsonArray(_pods.Values.Where(p => ns == Namespace && Matches(p, selector)).Select(p => (JsonNode)p.DeepClone()).ToArray());
            return new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "PodList",
                ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
                ["items"] = items,
            };
        }
    }

    private async Task StreamAsync(HttpContext context, WatchResponse watch)
    {
        var events = Channel.CreateUnbounded<string>();
        lock (_gate)
        {
            if (watch.Namespace == Namespace)
            {
                foreach (var pod in _pods.Values.Where(p => Matches(p, watch.Selector)))
                {
                    events.Writer.TryWrite(Event("ADDED", pod));
                }

                _watchers.Add((watch.Selector, events));
            }
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        try
        {
            await foreach (var line in events.Reader.ReadAllAsync(stop.Token))
            {
                await context.Response.WriteAsync(line + "\n", stop.Token);
                await context.Response.Body.FlushAsync(stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _watchers.RemoveAll(w => w.Events == events);
            }
        }
    }

    // Called under the lock.
    private void Notify(string type, JsonObject pod)
    {
        foreach (var (selector, events) in _watchers.Where(w => Matches(pod, w.Selector)))
        {
            events.Writer.TryWrite(Event(type, pod));
        }
    }

    private static string Event(string type, JsonObject pod) =>
        new JsonObject { ["type"] = type, ["object"] = pod.DeepClone() }.ToJsonString();

    // Equality terms only (k=v,k2=v2), which is what Orleans sends.
    private static bool Matches(JsonObject pod, string selector) =>
        string.IsNullOrEmpty(selector) || selector.Split(',').All(term =>
        {
            var (key, value) = term.Split('=', 2) is [var k, var v] ? (k, v) : (term, null);
            var label = pod["metadata"]?["labels"]?[key]?.GetValue<string>();
            return value is null ? label is not null : label == value;
        });

    // Called under the lock.
    private void Stamp(JsonObject pod) =>
        pod["metadata"]!["resourceVersion"] = (++_resourceVersion).ToString(CultureInfo.InvariantCulture);

    private static JsonObject Status(int code, string reason, string message, string? name = null) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["details"] = name is null ? null : new JsonObject { ["name"] = name, ["kind"] = "pods" },
        ["code"] = code,
    };

    private sealed record WatchResponse(string Namespace, string Selector);
}
