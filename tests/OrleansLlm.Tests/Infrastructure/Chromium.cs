using Microsoft.Playwright;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// Debian's chromium (<c>apt-get install chromium</c>; <c>bash .ci/run</c> installs it), driven headless by Playwright
/// through its executable path, with a fresh profile that is deleted on dispose.
/// </summary>
/// <remarks>
/// Playwright's own browser download cannot work on a machine that only reaches package registries, and nothing here
/// asks for it: the NuGet package brings only its driver, and <see cref="ExecutablePath"/> names the browser.
/// </remarks>
public sealed class Chromium : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/chromium";

    // Without the background-networking switches chromium keeps calling Google's services, which a closed network
    // answers only with refused connections; --no-sandbox because CI runs as root.
    private static readonly string[] Switches =
    [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ];

    private static readonly TimeSpan LaunchTimeout = TimeSpan.FromSeconds(60);

    private readonly IPlaywright _playwright;
    private readonly string _profile;

    private Chromium(IPlaywright playwright, IBrowserContext context, string profile)
    {
        _playwright = playwright;
        Context = context;
        _profile = profile;
    }

    public IBrowserContext Context { get; }

    /// <summary>Starts the browser with a window (and screenshots) of <paramref name="width"/> × <paramref name="height"/> pixels.</summary>
    public static async Task<Chromium> LaunchAsync(int width = 1440, int height = 900)
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{ExecutablePath} is missing: run 'apt-get install -y chromium' (bash .ci/run does it)");
        }

        var profile = Path.Combine(Path.GetTempPath(), "orleansllm-chromium-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(profile);
        var playwright = await Playwright.CreateAsync();
        try
        {
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = Switches,
                ViewportSize = new ViewportSize { Width = width, Height = height },
                Timeout = (float)LaunchTimeout.TotalMilliseconds,
            });
            return new Chromium(playwright, context, profile);
        }
        catch
        {
            playwright.Dispose();
            DeleteProfile(profile);
            throw;
        }
    }

    /// <summary>A new tab; its uncaught script errors are collected in <paramref name="scriptErrors"/>.</summary>
    public async Task<IPage> NewPageAsync(ICollection<string> scriptErrors)
    {
        var page = await Context.NewPageAsync();
        page.PageError += (_, error) =>
        {
            lock (scriptErrors)
            {
                scriptErrors.Add(error);
            }
        };
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        _playwright.Dispose();
        DeleteProfile(_profile);
    }

    private static void DeleteProfile(string profile)
    {
        try
        {
            Directory.Delete(profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be writing as it exits; a temporary folder left behind is harmless.
        }
    }
}
