namespace OrleansLlm.Silo.Batches;

/// <summary>
/// The page itself: <c>batches.html</c>, <c>batches.css</c> and <c>batches.js</c>, embedded in the silo, so it needs
/// nothing from outside (no CDN: a silo's network reaches no internet).
/// </summary>
public sealed class BatchesPageAssets
{
    /// <summary>
    /// Scripts and styles from the silo's own files only, nothing inline: whatever a batch's id or status held could
    /// not run as script even if it reached the page as markup (the script only ever sets it as text).
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private readonly Dictionary<string, (byte[] Content, string Type)> _files = new(StringComparer.Ordinal)
    {
        ["batches.html"] = (Read("batches.html"), "text/html; charset=utf-8"),
        ["batches.css"] = (Read("batches.css"), "text/css; charset=utf-8"),
        ["batches.js"] = (Read("batches.js"), "text/javascript; charset=utf-8"),
    };

    public IResult Serve(HttpContext http, string name)
    {
        var (content, type) = _files[name];
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        // A silo upgraded in a rolling update serves its own script: never one cached from the version before.
        headers.CacheControl = "no-cache";
        return Results.Bytes(content, type);
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(BatchesPageAssets).Assembly.GetManifestResourceStream($"OrleansLlm.Silo.Batches/{name}")
            ?? throw new InvalidOperationException($"the silo was built without its batches page ({name})");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
