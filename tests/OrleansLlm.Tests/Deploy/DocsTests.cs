using System.Text.RegularExpressions;
using k8s.Models;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// The docs work when followed literally. Every shell block of docs/kubernetes.md and of README's "On Kubernetes" is
/// read as bash would run it (<see cref="ShellScript"/>); each kubectl command is checked against the installed
/// kubectl's own help and the rendered manifests: it uses only flags that exist, and names only kustomizations,
/// files, namespaces, objects, labels, containers and ports that exist. Images are built and pushed before anything
/// runs them, and the logs of a newly created pod are read only after waiting for it.
/// </summary>
[Trait("Category", "Deploy")]
public sealed partial class DocsTests(ITestOutputHelper output)
{
    public const string Walkthrough = "docs/kubernetes.md";
    public const string Readme = "README.md";
    private const string ReadmeSection = "## On Kubernetes";

    public static TheoryData<string> Documents => new() { Walkthrough, Readme };

    [SkippableTheory, MemberData(nameof(Documents))]
    public async Task EveryBlock_HasALanguage_EveryShellBlockReads(string doc)
    {
        var blocks = BlocksOf(doc);
        Assert.All(blocks, b => Assert.False(string.IsNullOrEmpty(b.Language), $"{doc}:{b.FirstLine}: a code block without a language"));
        var script = ScriptOf(doc);
        var kubectl = await KubectlOfAsync(script);
        Assert.NotEmpty(kubectl);
        output.WriteLine($"{doc}: {blocks.Count(b => b.IsShell)} shell blocks, {script.Commands.Count} commands, {kubectl.Count} kubectl commands");
    }

    [SkippableTheory, MemberData(nameof(Documents))]
    public async Task KubectlCommands_NameOnlyObjectsFilesLabelsContainersAndPortsThatExist(string doc)
    {
        var script = ScriptOf(doc);
        var kubectl = await KubectlOfAsync(script);
        var objects = await AppliedObjectsAsync(kubectl);
        var problems = new List<string>();
        foreach (var command in kubectl)
        {
            problems.AddRange(Check(command, objects).Select(p => $"{command}: {p}"));
        }

        // Whatever else the blocks name in the repository (Dockerfiles, the CLI overrides) exists too; kubectl's own
        // arguments were checked above (its TYPE/NAME such as deploy/NAME are not paths).
        foreach (var command in script.Commands.Where(c => c.Program != "kubectl"))
        {
            problems.AddRange(command.Words.Skip(1).SelectMany(w => RepoPath().Matches(w)).Select(m => m.Value)
                .Where(p => !File.Exists(Path.Combine(RepoPaths.Root, p)) && !Directory.Exists(Path.Combine(RepoPaths.Root, p)))
                .Select(p => $"{command}: {p} does not exist"));
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [SkippableTheory, MemberData(nameof(Documents))]
    public async Task Images_AreBuiltAndPushedBeforeAnythingRunsThem(string doc)
    {
        var script = ScriptOf(doc);
        var kubectl = await KubectlOfAsync(script);
        var ours = OurImages();
        // docker buildx build ... --push builds and pushes at once; docker build + kind load puts the image on the nodes.
        int First(string verb, string image) =>
            script.Commands.FirstOrDefault(c => c.Words.Contains(image) && (
                (c.Program == "docker" && c.Words.Count > 1 && c.Words[1] == verb)
                || (c.Program == "docker" && c.Words.Count > 2 && c.Words[1] == "buildx" && c.Words[2] == "build" && (verb == "build" || c.Words.Contains("--push")))
                || (c.Program == "kind" && verb == "push" && c.Words.Count > 2 && c.Words[1] == "load")))?.Index ?? int.MaxValue;

        var problems = new List<string>();
        var runs = 0;
        foreach (var command in kubectl)
        {
            var images = new List<string>();
            if (command.Verb == "apply" && command.Value("k", "kustomize") is { } dir)
            {
                var rendered = await RenderedManifests.RenderAsync(dir["deploy/".Length..]);
                images.AddRange(PodTemplate.Of(dir, rendered).SelectMany(p => p.Spec.Containers.Concat(p.Spec.InitContainers ?? [])).Select(c => c.Image).Where(ours.Contains).Distinct());
            }

            if (command.Verb == "run")
            {
                images.Add(command.Value("image") ?? "(no image)");
            }

            foreach (var image in images)
            {
                runs++;
                if (First("build", image) > command.Source.Index || First("push", image) > command.Source.Index)
                {
                    problems.Add($"{command}: runs {image} before the document builds and pushes it");
                }
            }
        }

        Assert.True(runs > 0, $"{doc} runs none of the project's images ({string.Join(", ", ours)})");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [SkippableTheory, MemberData(nameof(Documents))]
    public async Task Logs_OfANewlyCreatedPod_OnlyAfterWaitingForIt(string doc)
    {
        var kubectl = await KubectlOfAsync(ScriptOf(doc));
        var objects = await AppliedObjectsAsync(kubectl);
        var created = new Dictionary<string, int>(StringComparer.Ordinal);
        var waited = new List<(int Index, string Workload)>();
        var problems = new List<string>();
        var logs = 0;
        foreach (var command in kubectl)
        {
            if (command.Verb == "apply" && command.Value("k", "kustomize") is { } dir)
            {
                foreach (var workload in Workloads(await RenderedManifests.RenderAsync(dir["deploy/".Length..])))
                {
                    created[workload.Key] = command.Source.Index;
                }
            }
            else if (command.Verb is "wait" or "rollout status")
            {
                waited.AddRange(TargetWorkloads(command, objects).Select(w => (command.Source.Index, w)));
            }
            else if (command.Verb == "logs")
            {
                logs++;
                foreach (var workload in TargetWorkloads(command, objects))
                {
                    if (created.TryGetValue(workload, out var at) && !waited.Any(w => w.Workload == workload && w.Index > at))
                    {
                        problems.Add($"{command}: reads the logs of {workload}, created by the command #{at}, without waiting for it first");
                    }
                }
            }
        }

        output.WriteLine($"{doc}: {logs} logs commands");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [SkippableTheory, MemberData(nameof(Documents))]
    public async Task KedaCheck_LooksInEveryNamespace_ForTheLabelTheRedisPolicyAdmits(string doc)
    {
        var check = Assert.Single(await KubectlOfAsync(ScriptOf(doc)), c => c.Verb == "get" && c.Has("A", "all-namespaces"));
        var policy = (await RenderedManifests.RenderAsync("overlays/cpu")).Single<V1NetworkPolicy>("orleansllm-redis");
        var keda = Assert.Single(policy.Spec.Ingress.SelectMany(r => r.FromProperty), f => f.NamespaceSelector is not null);
        Assert.Empty(keda.NamespaceSelector.MatchLabels ?? new Dictionary<string, string>());
        Assert.Null(keda.NamespaceSelector.MatchExpressions);
        Assert.Equal(string.Join(",", keda.PodSelector.MatchLabels.Select(kv => $"{kv.Key}={kv.Value}")), check.Value("l", "selector"));
        Assert.Equal(["pods"], check.Positionals);
    }

    [SkippableFact]
    public async Task AnotherNamespace_TheDocumentedOverlayMovesEverythingKedasAddressIncluded()
    {
        var block = Assert.Single(BlocksOf(Walkthrough), b => b.Heading == "Another namespace" && b.Language == "yaml");
        var ns = Regex.Match(block.Text, @"^namespace: (\S+)$", RegexOptions.Multiline).Groups[1].Value;
        var m = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync(block.Text));

        Assert.Equal(ns, Assert.Single(m.All<V1Namespace>()).Metadata.Name);
        Assert.All(m.All<IMetadata<V1ObjectMeta>>().Where(o => !ManifestTests.ClusterScoped(o)), o => Assert.Equal(ns, o.Metadata.NamespaceProperty));
        Assert.All(m.Single<ScaledObject>("orleansllm-silo").Spec.Triggers, t => Assert.Equal($"orleansllm-redis.{ns}.svc:6379", t.Metadata["address"]));
        Assert.Equal(ns, Assert.Single(m.Single<V1RoleBinding>("orleansllm-silo").Subjects).NamespaceProperty);
    }

    [SkippableFact]
    public async Task CliFunction_RunsAPodThatPassesRestrictedAndReachesTheSilosRedis()
    {
        var script = ScriptOf(Walkthrough);
        var run = Assert.Single(await KubectlOfAsync(script), c => c.Verb == "run");
        var name = Assert.Single(run.Positionals);
        Assert.Equal(CliPod.Name, name);
        Assert.Equal("strategic", run.Value("override-type"));
        Assert.Equal($"$(cat {CliPod.OverridesFile})", run.Value("overrides"));
        Assert.Equal("Never", run.Value("restart"));
        Assert.True(run.Has("rm") && run.Has("i", "stdin"), $"{run}: not a throw-away pod attached to the terminal");
        Assert.Equal(["$@"], run.AfterDashDash);

        var pod = CliPod.FromRepository(run.Value("image")!, ["status", "worldcities-1m"]);
        Assert.Empty(PodSecurityStandards.RestrictedRules.SelectMany(r => r.Violations(pod)));

        // It reaches the silos' Redis with the Secret's password, and their cluster.
        var overlay = await RenderedManifests.RenderAsync("overlays/cpu");
        var silo = overlay.Environment(overlay.SiloContainer, overlay.SiloDeployment.Spec.Template.Metadata, "orleansllm");
        var env = overlay.Environment(pod.Spec.Containers.Single(), pod.Metadata, "orleansllm");
        var redis = StackExchange.Redis.ConfigurationOptions.Parse(env["Redis__ConnectionString"]);
        Assert.Equal(StackExchange.Redis.ConfigurationOptions.Parse(silo["Redis__ConnectionString"]).EndPoints.Single(), redis.EndPoints.Single());
        Assert.Equal(("client", Kustomize.RedisPasswords["client"], true), (redis.User, redis.Password, redis.Ssl));
        Assert.Equal(silo["Redis__TrustedCaFile"], env["Redis__TrustedCaFile"]);
        Assert.Equal((silo["Orleans__ClusterId"], silo["Orleans__ServiceId"]), (env["Orleans__ClusterId"], env["Orleans__ServiceId"]));
        Assert.Equal("orleansllm-client", pod.Metadata.Labels["app.kubernetes.io/name"]);
    }

    [SkippableFact]
    public async Task Walkthrough_FollowsTheBatchTheSubmitJobCreates()
    {
        var submit = (await RenderedManifests.RenderAsync("jobs/submit-cities")).Single<V1Job>("orleansllm-submit-cities");
        var args = submit.Spec.Template.Spec.Containers.Single().Args;
        var batch = args[args.IndexOf("--batch") + 1];
        var calls = ScriptOf(Walkthrough).Commands.Where(c => c.Program == "orleansllm").ToArray();
        Assert.Contains(calls, c => c.Words.SequenceEqual(["orleansllm", "status", batch]));
        Assert.Contains(calls, c => c.Words.Take(2).SequenceEqual(["orleansllm", "results"]) && c.Words[2] == batch);
    }

    [SkippableTheory, MemberData(nameof(Documents))]
    public async Task Secrets_EveryPodNeeds_ExistBeforeItIsCreated_InANamespaceThatExists(string doc)
    {
        var kubectl = await KubectlOfAsync(ScriptOf(doc));
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        var secrets = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var pods = 0;
        void Need(KubectlCommand command, string what, string ns, V1PodSpec spec)
        {
            pods++;
            problems.AddRange(SecretsOf(spec).Where(name => !secrets.Contains($"{ns}/{name}"))
                .Select(name => $"{command}: {what} needs the Secret {name} in {ns}, which no earlier command creates"));
        }

        foreach (var command in kubectl)
        {
            if (command.Path is ["create", ..] && command.Value("n", "namespace") is { } target)
            {
                if (!namespaces.Contains(target))
                {
                    problems.Add($"{command}: creates something in the namespace {target} before anything creates it");
                }

                if (command.Path is ["create", "secret", _])
                {
                    secrets.Add($"{target}/{command.Positionals.Single()}");
                }
            }

            var applied = command.Verb != "apply" ? null
                : command.Value("k", "kustomize") is { } dir ? await RenderedManifests.RenderAsync(dir["deploy/".Length..])
                : command.Value("f", "filename") is { } file ? RenderedManifests.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, file)))
                : null;
            if (applied is not null)
            {
                // What the apply brings itself: namespaces, Secrets (the Redis users' too, from deploy/secrets), and the Secrets
        // its cert-manager Certificates write.
                namespaces.UnionWith(applied.All<V1Namespace>().Select(n => n.Metadata.Name));
                secrets.UnionWith(applied.All<V1Secret>().Select(x => $"{x.Metadata.NamespaceProperty}/{x.Metadata.Name}"));
                secrets.UnionWith(applied.All<Certificate>().Select(c => $"{c.Metadata.NamespaceProperty}/{c.Spec.SecretName}"));
                foreach (var d in applied.All<V1Deployment>())
                {
                    Need(command, $"Deployment {d.Metadata.Name}", d.Metadata.NamespaceProperty, d.Spec.Template.Spec);
                }

                foreach (var j in applied.All<V1Job>())
                {
                    Need(command, $"Job {j.Metadata.Name}", j.Metadata.NamespaceProperty, j.Spec.Template.Spec);
                }
            }

            if (command.Verb == "run")
            {
                Need(command, "the CLI pod", command.Value("n", "namespace") ?? "default", CliPod.FromRepository(command.Value("image")!, []).Spec);
            }
        }

        output.WriteLine($"{doc}: {pods} pods checked; Secrets created: {string.Join(", ", secrets.Order())}");
        Assert.True(pods > 0, $"{doc} creates no pod");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [SkippableFact]
    public async Task CertificateSecrets_AreCreatedWithEveryKeyThePodsMount_FromTheRecipesFiles()
    {
        var script = ScriptOf(Walkthrough);
        var creates = (await KubectlOfAsync(script)).Where(c => c.Path is ["create", "secret", _]).ToArray();
        var overlay = await RenderedManifests.RenderAsync("overlays/cpu");
        Assert.Equal(
            new[] { ManifestTests.SiloTlsSecret(overlay), ManifestTests.ClientTlsSecret, ManifestTests.RedisTlsSecret(overlay) }.Order(),
            creates.Select(c => c.Positionals.Single()).Order());

        // What the recipe's openssl commands write (the README's, which OpensslRecipeTests runs, and Redis').
        var written = script.Commands.Where(c => c.Program == "openssl")
            .SelectMany(c => c.Words.Select((w, i) => (w, i)).Where(x => x.w is "-out" or "-keyout").Select(x => c.Words[x.i + 1]))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var create in creates)
        {
            Assert.Equal(["create", "secret", "generic"], create.Path);
            Assert.Equal("kubernetes.io/tls", create.Value("type"));

            // --from-file=KEY=PATH: the key each pod mounts, from a file the recipe made.
            var files = create.Values("from-file").Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
            Assert.Equal(ManifestTests.ClusterTlsFiles.Select(f => f.Key).Order(), files.Keys.Order());
            Assert.All(files.Values, path => Assert.Contains(Path.GetFileName(path), written));
            Assert.Equal("ca.crt", Path.GetFileName(files["ca.crt"]));
        }

        // Each Secret holds its role's certificate: the silo's, the client's, Redis'.
        string Certificate(string secret) => Path.GetFileName(creates.Single(c => c.Positionals.Single() == secret).Values("from-file").Single(f => f.StartsWith("tls.crt=", StringComparison.Ordinal)));
        Assert.Equal("silo.crt", Certificate(ManifestTests.ClusterTlsSecret));
        Assert.Equal("client.crt", Certificate(ManifestTests.ClientTlsSecret));
        Assert.Equal("redis.crt", Certificate(ManifestTests.RedisTlsSecretName));
    }

    [SkippableTheory, MemberData(nameof(Documents))]
    public async Task PasswordFiles_AreMadeBeforeTheFirstApply_AsTheSecretsComponentReadsThem(string doc)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, doc));
        var blocks = BlocksOf(doc).Where(b => b.IsShell).ToArray();
        var lines = blocks.SelectMany(b => b.Text.Split('\n').Select((line, i) => (Line: b.FirstLine + i, Text: line))).ToArray();
        var firstApply = lines.First(l => Regex.IsMatch(l.Text, @"kubectl apply -k deploy/overlays/")).Line;
        var makers = lines.Where(l => Regex.IsMatch(l.Text, @"> deploy/secrets/redis-\w+\.env$")).ToArray();
        Assert.Equal(["redis-client.env", "redis-keda.env", "redis-silo.env"], makers.Select(l => Regex.Match(l.Text, @"redis-\w+\.env").Value).Order());
        Assert.All(makers, l => Assert.True(l.Line < firstApply, $"{doc}:{l.Line} makes a password file after the first apply (line {firstApply})"));
        Assert.Contains("deploy/secrets/redis-silo.env", text, StringComparison.Ordinal);

        // Run as written, each line makes a file of one password of letters and digits, as the component reads it.
        var dir = Directory.CreateTempSubdirectory("orleansllm-passwords-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "deploy", "secrets"));
            var run = await ProcessRunner.RunAsync("bash", ["-euo", "pipefail", "-c", $"cd '{dir}' && " + string.Join(" && ", makers.Select(m => m.Text))]);
            Assert.True(run.ExitCode == 0, run.ToString());
            foreach (var file in Directory.GetFiles(Path.Combine(dir, "deploy", "secrets")))
            {
                Assert.Matches("^password=[A-Za-z0-9]{32,}\n$", await File.ReadAllTextAsync(file));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public void Walkthrough_ShowsTheReadmesRecipe_AsItStands()
    {
        var recipe = ReadmeRecipe().Trim();
        Assert.Contains(BlocksOf(Walkthrough), b => b.IsShell && b.Text.Contains(recipe, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task CertManager_TheDocumentedOverlayWritesTheClusterSecret_AfterCertManagerAndItsCrdsAreInstalled()
    {
        const string Heading = "4. The certificates";
        var block = Assert.Single(BlocksOf(Walkthrough), b => b.Heading == Heading && b.Language == "yaml");
        Assert.Contains("../../components/cert-manager", block.Text, StringComparison.Ordinal);
        var m = RenderedManifests.Parse(await Kustomize.RenderOverlayAsync(block.Text));
        ManifestTests.AssertWritesTheClusterSecret(m, ManifestTests.SiloTls(m));
        Assert.Equal(ManifestTests.ClusterTlsSecret, ManifestTests.SiloTlsSecret(m));

        // The component's objects are cert-manager's custom resources: its chart must install their CRDs.
        var helm = Assert.Single(ScriptOf(Walkthrough).Commands, c => c.Program == "helm" && c.Words.Contains("cert-manager"));
        Assert.Equal("crds.enabled=true", helm.Words[helm.Words.ToList().IndexOf("--set") + 1]);
        Assert.Contains($"deploy/{ManifestTests.CertManagerOverlay}", File.ReadAllText(Path.Combine(RepoPaths.Root, Walkthrough)), StringComparison.Ordinal);
    }

    private static IReadOnlyList<FencedBlock> BlocksOf(string doc)
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, doc));
        return doc == Readme ? FencedBlock.Of(text, ReadmeSection) : FencedBlock.Of(text);
    }

    /// <summary>The README's <c>openssl</c> recipe: the first shell block of "Securing the cluster".</summary>
    private static string ReadmeRecipe() =>
        FencedBlock.Of(File.ReadAllText(Path.Combine(RepoPaths.Root, Readme)), "## Securing the cluster").First(b => b.IsShell).Text;

    /// <summary>The Secrets a pod cannot start without: its Secret volumes and the Secrets its environment reads.</summary>
    private static IEnumerable<string> SecretsOf(V1PodSpec spec) =>
        (spec.Volumes ?? []).Where(v => v.Secret is { Optional: not true }).Select(v => v.Secret.SecretName)
            .Concat(spec.Containers.Concat(spec.InitContainers ?? []).SelectMany(c => c.Env ?? [])
                .Where(e => e.ValueFrom?.SecretKeyRef is { Optional: not true }).Select(e => e.ValueFrom.SecretKeyRef.Name))
            .Concat(spec.Containers.Concat(spec.InitContainers ?? []).SelectMany(c => c.EnvFrom ?? [])
                .Where(e => e.SecretRef is { Optional: not true }).Select(e => e.SecretRef.Name))
            .Distinct();

    private static ShellScript ScriptOf(string doc)
    {
        var script = new ShellScript();
        foreach (var block in BlocksOf(doc).Where(b => b.IsShell))
        {
            script.Add(block.Text, doc, block.FirstLine);
        }

        return script;
    }

    private static async Task<IReadOnlyList<KubectlCommand>> KubectlOfAsync(ShellScript script)
    {
        var commands = new List<KubectlCommand>();
        foreach (var command in script.Commands.Where(c => c.Program == "kubectl"))
        {
            commands.Add(await KubectlCommand.ParseAsync(command));
        }

        return commands;
    }

    /// <summary>Every object of every kustomization the document applies or deletes.</summary>
    private static async Task<RenderedManifests> AppliedObjectsAsync(IEnumerable<KubectlCommand> kubectl)
    {
        var objects = new List<object>();
        foreach (var dir in kubectl.Where(c => c.Verb is "apply" or "delete").SelectMany(c => c.Values("k", "kustomize")).Distinct())
        {
            Assert.StartsWith("deploy/", dir, StringComparison.Ordinal);
            objects.AddRange((await RenderedManifests.RenderAsync(dir["deploy/".Length..])).Objects);
        }

        return new RenderedManifests(objects);
    }

    /// <summary>The images this repository builds, as deploy/images names them.</summary>
    private static HashSet<string> OurImages() =>
        [.. ImageEntry().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "images", "kustomization.yaml")))
            .Select(m => $"{m.Groups["name"].Value}:{m.Groups["tag"].Value}")];

    // Several overlays the document applies (cpu, cpu-monitoring, ...) hold the same workloads: the first of each name stands for all.
    private static Dictionary<string, V1PodTemplateSpec> Workloads(RenderedManifests m) =>
        m.All<V1Deployment>().Select(d => KeyValuePair.Create($"deployment/{d.Metadata.Name}", d.Spec.Template))
            .Concat(m.All<V1Job>().Select(j => KeyValuePair.Create($"job/{j.Metadata.Name}", j.Spec.Template)))
            .DistinctBy(w => w.Key, StringComparer.Ordinal)
            .ToDictionary(StringComparer.Ordinal);

    /// <summary>The Deployments and Jobs whose pods a command is about: named, or selected by -l.</summary>
    private static IReadOnlyList<string> TargetWorkloads(KubectlCommand command, RenderedManifests objects)
    {
        var workloads = Workloads(objects);
        var targets = References(command).Select(r => $"{Canonical(r.Type)}/{r.Name}").Where(workloads.ContainsKey).ToList();
        if (command.Value("l", "selector") is { } selector)
        {
            targets.AddRange(workloads.Where(w => SelectorMatches(selector, w.Value.Metadata.Labels)).Select(w => w.Key));
        }

        return targets;
    }

    /// <summary>What is wrong with what a kubectl command names, if anything.</summary>
    private static IEnumerable<string> Check(KubectlCommand command, RenderedManifests objects)
    {
        foreach (var dir in command.Values("k", "kustomize"))
        {
            if (!dir.StartsWith("deploy/", StringComparison.Ordinal) || !File.Exists(Path.Combine(RepoPaths.Root, dir, "kustomization.yaml")))
            {
                yield return $"-k {dir} is no kustomization of deploy/";
            }
        }

        foreach (var file in command.Values("f", "filename").Where(f => f != "-"))
        {
            if (!File.Exists(Path.Combine(RepoPaths.Root, file)))
            {
                yield return $"-f {file} does not exist";
            }
        }

        // Commands about the cluster itself (every namespace, the API server's endpoints) name what every cluster has.
        var aboutTheCluster = command.Has("A", "all-namespaces") || References(command).Any(r => Canonical(r.Type) == "endpointslice");
        foreach (var ns in command.Values("n", "namespace"))
        {
            if (!objects.All<V1Namespace>().Any(n => n.Metadata.Name == ns) && !(aboutTheCluster && ns is "default" or "kube-system"))
            {
                yield return $"the namespace {ns} is not one the manifests create";
            }
        }

        var pods = new List<V1PodTemplateSpec>();
        // In every namespace, or the API server's endpoints: about other software's objects, not the manifests'.
        if (command.Value("l", "selector") is { } selector && !aboutTheCluster)
        {
            var matching = Workloads(objects).Values.Where(t => SelectorMatches(selector, t.Metadata.Labels)).ToArray();
            if (matching.Length == 0)
            {
                yield return $"-l {selector} selects no pod of the manifests";
            }

            pods.AddRange(matching);
        }

        foreach (var (type, name) in References(command))
        {
            var kind = Canonical(type);
            if (kind is null)
            {
                yield return $"{type} is not a kind this check knows";
                continue;
            }

            if (name is null)
            {
                continue;
            }

            var exists = kind switch
            {
                "deployment" => objects.All<V1Deployment>().Any(o => o.Metadata.Name == name),
                "job" => objects.All<V1Job>().Any(o => o.Metadata.Name == name),
                "service" => objects.All<V1Service>().Any(o => o.Metadata.Name == name),
                "secret" => objects.All<V1Secret>().Any(o => o.Metadata.Name == name),
                "configmap" => objects.All<V1ConfigMap>().Any(o => o.Metadata.Name == name),
                "namespace" => objects.All<V1Namespace>().Any(o => o.Metadata.Name == name),
                "networkpolicy" => objects.All<V1NetworkPolicy>().Any(o => o.Metadata.Name == name),
                "scaledobject" => objects.All<ScaledObject>().Any(o => o.Metadata.Name == name),
                "podmonitor" => objects.All<PodMonitor>().Any(o => o.Metadata.Name == name),
                // KEDA makes the HPA its ScaledObject names.
                "hpa" => objects.All<ScaledObject>().Any(o => o.Spec.Advanced?.HorizontalPodAutoscalerConfig?.Name == name),
                // Pod names are made up at creation: the docs select pods by label.
                _ => false,
            };
            if (!exists)
            {
                yield return $"there is no {type} named {name} in the manifests";
            }

            if (Workloads(objects).TryGetValue($"{kind}/{name}", out var template))
            {
                pods.Add(template);
            }
        }

        foreach (var container in command.Values("c", "container"))
        {
            if (pods.Count == 0 || !pods.All(p => p.Spec.Containers.Concat(p.Spec.InitContainers ?? []).Any(c => c.Name == container)))
            {
                yield return $"-c {container}: not a container of the pods it names";
            }
        }

        if (command.Value("for") is { } condition && condition.StartsWith("condition=", StringComparison.Ordinal))
        {
            var expected = References(command).Select(r => Canonical(r.Type)).FirstOrDefault() switch
            {
                "deployment" => ["available", "progressing"],
                "job" => ["complete", "failed"],
                "pod" => ["ready", "initialized", "containersready", "podscheduled"],
                _ => Array.Empty<string>(),
            };
            if (!expected.Contains(condition["condition=".Length..].ToLowerInvariant()))
            {
                yield return $"--for={condition} is not a condition of what it waits for";
            }
        }

        if (command.Verb == "port-forward")
        {
            // To a Service, the remote port is one of the Service's; kubectl forwards it to that port's target.
            var services = References(command).Where(r => Canonical(r.Type) == "service")
                .Select(r => objects.All<V1Service>().FirstOrDefault(s => s.Metadata.Name == r.Name)).OfType<V1Service>().ToArray();
            foreach (var ports in command.Positionals.Skip(1))
            {
                var remote = int.Parse(ports.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);
                if (!pods.All(p => p.Spec.Containers.SelectMany(c => c.Ports ?? []).Any(p => p.ContainerPort == remote)))
                {
                    yield return $"port {remote} is not a container port of the pod it forwards to";
                }

                if (!services.All(s => s.Spec.Ports.Any(p => p.Port == remote)))
                {
                    yield return $"port {remote} is not a port of the Service it forwards to";
                }
            }
        }
    }

    /// <summary>The objects a command names by its positional arguments: (type, name), name null for a type alone.</summary>
    private static IEnumerable<(string Type, string? Name)> References(KubectlCommand command)
    {
        var args = command.Positionals;
        switch (command.Verb)
        {
            case "apply" or "run":
                yield break;
            case var verb when verb.StartsWith("create ", StringComparison.Ordinal):
                // kubectl create TYPE NAME makes the object; it names nothing that must exist already.
                yield break;
            case "logs" or "exec" or "attach" when args.Count > 0 && !args[0].Contains('/'):
                // A bare name is a pod's.
                yield return ("pod", args[0]);
                yield break;
            case "port-forward":
                args = args.Take(1).ToArray();
                break;
            case "annotate" or "label":
                // TYPE NAME KEY=VALUE... or TYPE/NAME KEY=VALUE...
                args = args.Count > 0 && args[0].Contains('/') ? args.Take(1).ToArray() : args.Take(2).ToArray();
                break;
        }

        if (args.Count == 0)
        {
            yield break;
        }

        if (args[0].Contains('/'))
        {
            foreach (var arg in args)
            {
                var slash = arg.IndexOf('/');
                yield return (arg[..slash], arg[(slash + 1)..]);
            }

            yield break;
        }

        var types = args[0].Split(',');
        if (args.Count == 1)
        {
            foreach (var type in types)
            {
                yield return (type, null);
            }

            yield break;
        }

        foreach (var name in args.Skip(1))
        {
            yield return (types.Single(), name);
        }
    }

    private static string? Canonical(string type) => type.ToLowerInvariant() switch
    {
        "deployment" or "deployments" or "deploy" => "deployment",
        "job" or "jobs" => "job",
        "service" or "services" or "svc" => "service",
        "secret" or "secrets" => "secret",
        "configmap" or "configmaps" or "cm" => "configmap",
        "namespace" or "namespaces" or "ns" => "namespace",
        "networkpolicy" or "networkpolicies" or "netpol" => "networkpolicy",
        "scaledobject" or "scaledobjects" or "so" => "scaledobject",
        "podmonitor" or "podmonitors" => "podmonitor",
        "hpa" or "horizontalpodautoscaler" or "horizontalpodautoscalers" => "hpa",
        "endpointslice" or "endpointslices" => "endpointslice",
        "pod" or "pods" or "po" => "pod",
        _ => null,
    };

    // Equality terms only (k=v,k2=v2), as the docs use.
    private static bool SelectorMatches(string selector, IDictionary<string, string> labels) =>
        selector.Split(',').All(term => term.Split('=', 2) is [var k, var v] && labels.TryGetValue(k, out var l) && l == v);

    [GeneratedRegex(@"\b(?:deploy|src|data|docs|tests)/[A-Za-z0-9_./-]*[A-Za-z0-9_]")]
    private static partial Regex RepoPath();

    [GeneratedRegex(@"- name: orleansllm-[a-z]+\s+newName: (?<name>\S+)\s+newTag: ""?(?<tag>[^""\s]+)""?")]
    private static partial Regex ImageEntry();
}
