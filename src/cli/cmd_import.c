/* cmd_import.c — `sbir import folders|bam|quickdraw`: builds a collection (the SQLite catalog of
 * collection.h) from a <style>/<class>/<image> tree or from BAM!; quickdraw is cmd_import_quickdraw. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/import_bam.h"
#include "data/import_folders.h"

static const char k_usage[] =
    "usage: sbir import folders --root DIR --out COLL.sqlite [--sketch-style NAME] [--size-check]\n"
    "       sbir import bam --db bam.sqlite --images DIR --out COLL.sqlite [--labels crowd|automatic|scores:T]\n"
    "                       [--media a,b,..] [--content a,b,..]\n"
    "       sbir import quickdraw FILE... --out COLL.sqlite   (sbir import quickdraw --help)\n\n"
    "folders: reads DIR/<style>/<class>/<image> (PACS, DomainNet). Images of the style folder named by\n"
    "         --sketch-style become query sketches; the others are gallery images with their size (from\n"
    "         the header) and CRC-32. --size-check also decodes every image and skips broken ones.\n"
    "bam:     BAM!'s SQLite file and a folder of images named <mid>.jpg/.jpeg/.png. An image needs exactly\n"
    "         one positive medium and one positive content under --labels (default crowd; scores:T takes\n"
    "         score >= T and the highest if several). Defaults: --media 3d_graphics,comic,graphite,\n"
    "         oilpaint,pen_ink,vectorart,watercolor --content bicycle,bird,cars,cat,dog. The class is the\n"
    "         Quick, Draw! word (cars -> car), the style the medium. Reports every skipped mid's reason.\n"
    "The collection is written atomically: on failure any previous COLL.sqlite is left untouched.\n";

static int usage(FILE *f) {
    fputs(k_usage, f);
    return f == stdout ? 0 : 2;
}

static int run_folders(int argc, char **argv) {
    static const struct option longopts[] = {{"root", required_argument, 0, 'r'},
                                             {"out", required_argument, 0, 'o'},
                                             {"sketch-style", required_argument, 0, 's'},
                                             {"size-check", no_argument, 0, 'c'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    import_folders_opts o = {0};
    int c;
    optind = 0;
    opterr = 0; /* our own one-line message below */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': o.root = optarg; break;
        case 'o': o.out = optarg; break;
        case 's': o.sketch_style = optarg; break;
        case 'c': o.size_check = 1; break;
        case 'h': return usage(stdout);
        default: return cli_usage_error("import folders", "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage_error("import folders", "unexpected argument '%s'", argv[optind]);
    if (!o.root || !o.out) return cli_usage_error("import folders", "--root DIR and --out COLL.sqlite are required");
    import_folders_report r;
    int rc = import_folders(&o, &r);
    if (rc) return cli_fail_last();
    printf("imported %lld images and %lld sketches (%d styles, %d classes) from %s into %s in %.1f s\n",
           (long long)r.images, (long long)r.sketches, r.styles, r.classes, o.root, o.out, r.seconds);
    printf("skipped: %lld not images, %lld outside <style>/<class>/<file>, %lld unreadable\n",
           (long long)r.skipped_not_image, (long long)r.skipped_misplaced, (long long)r.skipped_bad);
    for (int i = 0; i < r.n_examples; i++) printf("  %s\n", r.examples[i]);
    return 0;
}

static int run_bam(int argc, char **argv) {
    static const struct option longopts[] = {
        {"db", required_argument, 0, 'd'},     {"images", required_argument, 0, 'i'},
        {"out", required_argument, 0, 'o'},    {"labels", required_argument, 0, 'l'},
        {"media", required_argument, 0, 'm'},  {"content", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    import_bam_opts o = {0};
    const char *media[IMPORT_BAM_MAX_ATTRS], *contents[IMPORT_BAM_MAX_ATTRS];
    int c;
    optind = 0;
    opterr = 0; /* our own one-line message below */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db = optarg; break;
        case 'i': o.images = optarg; break;
        case 'o': o.out = optarg; break;
        case 'l':
            if (cli_parse_bam_labels("import bam", optarg, &o.labels, &o.threshold)) return 2;
            break;
        case 'm':
            if ((o.n_media = cli_split_list(optarg, media, IMPORT_BAM_MAX_ATTRS)) <= 0)
                return cli_usage_error("import bam", "--media expects a comma-separated list of media");
            o.media = media;
            break;
        case 'c':
            if ((o.n_contents = cli_split_list(optarg, contents, IMPORT_BAM_MAX_ATTRS)) <= 0)
                return cli_usage_error("import bam", "--content expects a comma-separated list of contents");
            o.contents = contents;
            break;
        case 'h': return usage(stdout);
        default: return cli_usage_error("import bam", "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage_error("import bam", "unexpected argument '%s'", argv[optind]);
    if (!o.db || !o.images || !o.out)
        return cli_usage_error("import bam", "--db, --images and --out are required");
    import_bam_report r;
    int rc = import_bam(&o, &r);
    if (r.mids > 0) {
        printf("%lld mids in %s: %lld imported into %s in %.1f s\n", (long long)r.mids, o.db, (long long)r.imported,
               o.out, r.seconds);
        printf("skipped: %lld no positive medium, %lld no positive content, %lld ambiguous labels, "
               "%lld no image file, %lld not an image\n",
               (long long)r.no_medium, (long long)r.no_content, (long long)r.ambiguous, (long long)r.no_file,
               (long long)r.not_image);
        for (int i = 0; i < r.n_examples; i++) printf("  %s\n", r.examples[i]);
    }
    return rc ? cli_fail_last() : 0;
}

int cmd_import(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    const char *what = argv[1];
    if (strcmp(what, "-h") == 0 || strcmp(what, "--help") == 0) return usage(stdout);
    if (strcmp(what, "folders") == 0) return run_folders(argc - 1, argv + 1);
    if (strcmp(what, "bam") == 0) return run_bam(argc - 1, argv + 1);
    if (strcmp(what, "quickdraw") == 0) return cmd_import_quickdraw(argc - 1, argv + 1);
    return cli_usage_error("import", "unknown source '%s' (folders, bam or quickdraw)", what);
}
